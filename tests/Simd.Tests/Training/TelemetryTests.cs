using System.Collections.Concurrent;
using System.Diagnostics.Tracing;
using Simd.Kernels;
using Simd.Mnist;
using Simd.Tests.Support;
using Simd.Training;

namespace Simd.Tests.Training;

/// <summary>
/// The "Simd-Training" EventSource read back in-process: the run's events carry exactly the values the
/// run returned, the counters report, and the steps still allocate nothing with a listener attached.
/// (In the collection that runs alone: events are process-wide, other tests' trainers would mix in.)
/// </summary>
[Collection(AllocationSensitive.Name)]
public class TelemetryTests
{
    private sealed class Listener : EventListener
    {
        public ConcurrentQueue<EventWrittenEventArgs> Events { get; } = new();

        protected override void OnEventSourceCreated(EventSource eventSource)
        {
            if (eventSource.Name == TrainingEventSource.SourceName)
            {
                EnableEvents(eventSource, EventLevel.Informational, EventKeywords.All, new Dictionary<string, string?> { ["EventCounterIntervalSec"] = "0.05" });
            }
        }

        protected override void OnEventWritten(EventWrittenEventArgs eventData)
        {
            if (eventData.EventSource.Name == TrainingEventSource.SourceName)
            {
                Events.Enqueue(eventData);
            }
        }
    }

    [Fact]
    public void Events_and_counters_report_the_run()
    {
        using var listener = new Listener();
        var options = new TrainingOptions { Iterations = 3001, Threads = 2, Seed = 4 };
        using var trainer = new Trainer<float>(options, MnistFixture.Subset<float>(30_000, MnistFixture.Data.Train), MnistFixture.Subset<float>(2_000, MnistFixture.Data.Test), Isa.Best);
        TrainingResult result = trainer.Run();
        Thread.Sleep(200); // one more counter interval after the run

        EventWrittenEventArgs[] events = [.. listener.Events];
        EventWrittenEventArgs start = Assert.Single(events, e => e.EventId == TrainingEventSource.RunStartId);
        Assert.Equal([3001, 100, 2, 50, 4], start.Payload!.Select(p => (int)p!));

        EventWrittenEventArgs[] epochs = [.. events.Where(e => e.EventId == TrainingEventSource.EpochId)];
        Assert.Equal(result.Epochs.Count, epochs.Length);
        Assert.Equal(11, epochs.Length); // iterations 0, 300, ..., 3000
        for (int i = 0; i < epochs.Length; i++)
        {
            EpochReport row = result.Epochs[i];
            Assert.Equal([row.Epoch, row.Iteration], epochs[i].Payload!.Take(2).Select(p => (int)p!));
            Assert.Equal([row.TrainAccuracy, row.TestAccuracy, row.Loss, row.GradientSeconds], epochs[i].Payload!.Skip(2).Select(p => (double)p!));
        }

        EventWrittenEventArgs stop = Assert.Single(events, e => e.EventId == TrainingEventSource.RunStopId);
        Assert.Equal(3001, (int)stop.Payload![0]!);
        Assert.Equal([result.TotalSeconds, result.GradientSeconds, result.EvaluationSeconds], stop.Payload!.Skip(1).Select(p => (double)p!));

        IDictionary<string, object>[] counters = [.. events.Where(e => e.EventName == "EventCounters").Select(e => (IDictionary<string, object>)e.Payload![0]!)];
        double[] steps = Values(counters, "steps-per-second", "Increment");
        double[] samples = Values(counters, "samples-per-second", "Increment");
        Assert.Contains(steps, v => v > 0);
        Assert.Contains(samples, v => v > 0);
        Assert.All(samples, v => Assert.Equal(0, v % 100)); // every step adds a batch of 100
        Assert.Contains(Values(counters, "gradient-time", "Mean"), v => v is > 1 and < 1e6);
        Assert.Contains(Values(counters, "loss", "Mean"), v => v is > 0 and < 10);
    }

    [Fact]
    public void Steps_allocate_nothing_with_a_listener_attached()
    {
        using var listener = new Listener();
        var options = new TrainingOptions { Iterations = 10_000, Threads = 2 };
        using var trainer = new Trainer<float>(options, MnistFixture.TrainSingle, MnistFixture.TestSingle, Isa.Best);
        for (int i = 0; i < 50; i++)
        {
            trainer.Step();
        }

        long before = trainer.Network.Pool.AllocatedBytes();
        for (int i = 0; i < 200; i++)
        {
            trainer.Step();
        }

        Assert.Equal(0, trainer.Network.Pool.AllocatedBytes() - before);
    }

    private static double[] Values(IDictionary<string, object>[] counters, string name, string field) =>
        [.. counters.Where(c => (string)c["Name"] == name).Select(c => Convert.ToDouble(c[field], System.Globalization.CultureInfo.InvariantCulture))];
}
