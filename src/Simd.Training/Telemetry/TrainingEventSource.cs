using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using System.Diagnostics.Tracing;

namespace Simd.Training;

/// <summary>
/// The "Simd-Training" EventSource: run start and stop, one event per evaluation, and live counters
/// (steps/s, samples/s, gradient µs, loss) for dotnet-trace, dotnet-counters or an in-process
/// EventListener. Events are written with WriteEventCore over stack-allocated EventData, so writing
/// one allocates nothing; a step only updates a few fields that the counters read on their own timer.
/// </summary>
[EventSource(Name = SourceName)]
public sealed class TrainingEventSource : EventSource
{
    public const string SourceName = "Simd-Training";

    /// <summary>Event ids, for listeners.</summary>
    public const int RunStartId = 1, EpochId = 2, RunStopId = 3;

    public static readonly TrainingEventSource Log = new();

    /// <summary>WriteEventCore warns that trimming may lose the properties of object payloads; ours are ints and doubles only.</summary>
    private const string PrimitivePayloads = "Every payload is an int or a double: nothing for the trimmer to remove.";

    private IncrementingPollingCounter? _stepsPerSecond;
    private IncrementingPollingCounter? _samplesPerSecond;
    private PollingCounter? _gradientMicroseconds;
    private PollingCounter? _loss;

    private long _steps;
    private long _samples;
    private long _gradientTicks;
    private double _lastLoss;
    private long _polledSteps;
    private long _polledTicks;
    private double _lastGradientMicroseconds;

    private TrainingEventSource()
    {
    }

    /// <summary>A run begins: its iterations, batch size, worker threads, the first hidden layer's size and element size in bytes (4 or 8).</summary>
    [Event(RunStartId, Level = EventLevel.Informational, Message = "training: {0} iterations of batch {1}, {2} threads, hidden {3}, {4}-byte floats")]
    [UnconditionalSuppressMessage("Trimming", "IL2026", Justification = PrimitivePayloads)]
    public unsafe void RunStart(int iterations, int batchSize, int threads, int hiddenSize, int elementBytes)
    {
        if (!IsEnabled())
        {
            return;
        }

        EventData* data = stackalloc EventData[5];
        Set(ref data[0], &iterations);
        Set(ref data[1], &batchSize);
        Set(ref data[2], &threads);
        Set(ref data[3], &hiddenSize);
        Set(ref data[4], &elementBytes);
        WriteEventCore(RunStartId, 5, data);
    }

    /// <summary>One evaluation row: what `simd train` prints.</summary>
    [Event(EpochId, Level = EventLevel.Informational, Message = "epoch {0} (iteration {1}): train {2:F4}, test {3:F4}, loss {4:F4}, gradients {5:F6} s")]
    [UnconditionalSuppressMessage("Trimming", "IL2026", Justification = PrimitivePayloads)]
    public unsafe void Epoch(int epoch, int iteration, double trainAccuracy, double testAccuracy, double loss, double gradientSeconds)
    {
        if (!IsEnabled())
        {
            return;
        }

        EventData* data = stackalloc EventData[6];
        Set(ref data[0], &epoch);
        Set(ref data[1], &iteration);
        Set(ref data[2], &trainAccuracy);
        Set(ref data[3], &testAccuracy);
        Set(ref data[4], &loss);
        Set(ref data[5], &gradientSeconds);
        WriteEventCore(EpochId, 6, data);
    }

    /// <summary>A run ends: iterations done, total, gradient and evaluation seconds.</summary>
    [Event(RunStopId, Level = EventLevel.Informational, Message = "trained {0} iterations in {1:F3} s (gradients {2:F3} s, evaluation {3:F3} s)")]
    [UnconditionalSuppressMessage("Trimming", "IL2026", Justification = PrimitivePayloads)]
    public unsafe void RunStop(int iterations, double totalSeconds, double gradientSeconds, double evaluationSeconds)
    {
        if (!IsEnabled())
        {
            return;
        }

        EventData* data = stackalloc EventData[4];
        Set(ref data[0], &iterations);
        Set(ref data[1], &totalSeconds);
        Set(ref data[2], &gradientSeconds);
        Set(ref data[3], &evaluationSeconds);
        WriteEventCore(RunStopId, 4, data);
    }

    /// <summary>A step happened (feeds the counters; writes no event). Called on the training thread only.</summary>
    [NonEvent]
    public void Step(int batchSize, long gradientTicks, double loss)
    {
        Volatile.Write(ref _steps, _steps + 1);
        Volatile.Write(ref _samples, _samples + batchSize);
        Volatile.Write(ref _gradientTicks, _gradientTicks + gradientTicks);
        Volatile.Write(ref _lastLoss, loss);
    }

    protected override void OnEventCommand(EventCommandEventArgs command)
    {
        if (command.Command != EventCommand.Enable)
        {
            return;
        }

        // Counters are made once, when someone first listens; their callbacks run on the counters' timer thread.
        _stepsPerSecond ??= new IncrementingPollingCounter("steps-per-second", this, () => Volatile.Read(ref _steps))
        {
            DisplayName = "Training steps",
            DisplayRateTimeScale = TimeSpan.FromSeconds(1),
        };
        _samplesPerSecond ??= new IncrementingPollingCounter("samples-per-second", this, () => Volatile.Read(ref _samples))
        {
            DisplayName = "Training samples",
            DisplayRateTimeScale = TimeSpan.FromSeconds(1),
        };
        _gradientMicroseconds ??= new PollingCounter("gradient-time", this, MeanGradientMicroseconds)
        {
            DisplayName = "Gradient time per step (mean since the last poll)",
            DisplayUnits = "µs",
        };
        _loss ??= new PollingCounter("loss", this, () => Volatile.Read(ref _lastLoss))
        {
            DisplayName = "Batch loss (latest)",
        };
    }

    /// <summary>Mean gradient time of the steps since the previous poll (the previous mean when there were none).</summary>
    private double MeanGradientMicroseconds()
    {
        long steps = Volatile.Read(ref _steps), ticks = Volatile.Read(ref _gradientTicks);
        long newSteps = steps - _polledSteps;
        if (newSteps > 0)
        {
            _lastGradientMicroseconds = (ticks - _polledTicks) * 1e6 / Stopwatch.Frequency / newSteps;
            _polledSteps = steps;
            _polledTicks = ticks;
        }

        return _lastGradientMicroseconds;
    }

    private static unsafe void Set<TValue>(ref EventData data, TValue* value)
        where TValue : unmanaged
    {
        data.DataPointer = (nint)value;
        data.Size = sizeof(TValue);
    }
}
