using Simd.Kernels;
using Simd.Tests.Support;
using Simd.Training;
using Simd.Training.Models;

namespace Simd.Tests.Training;

/// <summary>Checkpoints: a run stopped and continued is bitwise the run never stopped, with every optimizer.</summary>
public class CheckpointTests
{
    /// <summary>Every optimizer, stopped by cancellation after an evaluation (41 steps) or by a shorter run's end (50 steps, mid-epoch).</summary>
    public static TheoryData<OptimizerKind, bool> Optimizers
    {
        get
        {
            var data = new TheoryData<OptimizerKind, bool>();
            foreach (OptimizerKind kind in Enum.GetValues<OptimizerKind>())
            {
                data.Add(kind, false);
                data.Add(kind, true);
            }

            return data;
        }
    }

    /// <summary>
    /// 120 steps of batch 20 on 400 images (an evaluation every 20 steps) against a first run that stops,
    /// a checkpoint, and a new trainer (other thread count) restored from it running to 120: the same
    /// parameters, optimizer state, evaluation rows (loss means included) and step losses, bit for bit.
    /// Weight decay on, 2 hidden layers.
    /// </summary>
    [Theory]
    [MemberData(nameof(Optimizers))]
    public void A_resumed_run_is_bitwise_the_uninterrupted_one(OptimizerKind kind, bool stopMidEpoch)
    {
        using var dir = new TempDirectory();
        Dataset<float> train = MnistFixture.Subset<float>(400), test = MnistFixture.Subset<float>(50, MnistFixture.Data.Test);
        var options = new TrainingOptions
        {
            Iterations = 120,
            BatchSize = 20,
            HiddenSizes = [16, 12],
            Activation = Activation.Relu,
            Init = WeightInit.He,
            Optimizer = new OptimizerSettings(kind, OptimizerSettings.DefaultLearningRate(kind)),
            WeightDecay = 0.01,
            Threads = 2,
        };

        using var whole = new Trainer<float>(options, train, test, IsaPath.Vector256);
        var wholeLosses = new List<double>();
        whole.StepLosses = (first, losses) => wholeLosses.AddRange(losses.ToArray());
        TrainingResult expected = whole.Run();

        string path = dir.File("checkpoint.npz");
        var firstLosses = new List<double>();
        int stopped = stopMidEpoch ? 50 : 41;
        using (var first = new Trainer<float>(stopMidEpoch ? options with { Iterations = 50 } : options, train, test, IsaPath.Vector256))
        {
            first.StepLosses = (start, losses) => firstLosses.AddRange(losses.ToArray());
            using var stop = new CancellationTokenSource();
            first.Evaluated = row =>
            {
                if (row.Iteration == 40 && !stopMidEpoch)
                {
                    stop.Cancel(); // like Ctrl+C: the loop stops before its next step
                }
            };
            if (stopMidEpoch)
            {
                first.Run(stop.Token); // ends with an "end" row at 49, inside the epoch 41-60
            }
            else
            {
                Assert.Throws<OperationCanceledException>(() => first.Run(stop.Token));
            }

            Assert.Equal(stopped, first.Iteration);
            first.SaveCheckpoint(path);
        }

        Checkpoint checkpoint = CheckpointFile.Read(path);
        Assert.Equal(stopped, checkpoint.Progress.Iteration);
        Assert.Equal(options with { Threads = 1, Iterations = stopped == 50 ? 50 : 120 }, checkpoint.Options with { Threads = 1, HiddenSizes = options.HiddenSizes });
        using var resumed = new Trainer<float>(options with { Threads = 3 }, train, test, IsaPath.Vector256);
        resumed.Restore(checkpoint);
        var resumedLosses = new List<double>();
        int firstResumed = -1;
        resumed.StepLosses = (start, losses) =>
        {
            firstResumed = firstResumed < 0 ? start : firstResumed;
            resumedLosses.AddRange(losses.ToArray());
        };
        TrainingResult result = resumed.Run();

        Assert.Equal(whole.Network.Parameters.ToArray(), resumed.Network.Parameters.ToArray());
        Assert.Equal(whole.Network.Workspace.OptimizerState1.ToArray(), resumed.Network.Workspace.OptimizerState1.ToArray());
        Assert.Equal(whole.Network.Workspace.OptimizerState2.ToArray(), resumed.Network.Workspace.OptimizerState2.ToArray());
        Assert.Equal(whole.Network.Updates, resumed.Network.Updates);
        Assert.Equal(stopped, firstResumed);
        Assert.Equal(wholeLosses, [.. firstLosses, .. resumedLosses]);
        Assert.Equal(120, wholeLosses.Count);
        EpochReport[] tail = [.. expected.Epochs.Where(row => row.Iteration >= stopped)];
        Assert.Equal(tail.Select(Row), result.Epochs.Select(Row));
    }

    /// <summary>Ctrl+C can come before the first step (loading, a busy machine): that checkpoint resumes too.</summary>
    [Fact]
    public void A_checkpoint_before_the_first_step_resumes_to_the_same_run()
    {
        using var dir = new TempDirectory();
        var options = new TrainingOptions { Iterations = 25, BatchSize = 10, HiddenSizes = [12], Optimizer = new OptimizerSettings(OptimizerKind.Adam, 0.001) };
        Dataset<float> train = MnistFixture.Subset<float>(100), test = MnistFixture.Subset<float>(10);
        using var whole = new Trainer<float>(options, train, test, IsaPath.Scalar);
        whole.Run();
        using (var untouched = new Trainer<float>(options, train, test, IsaPath.Scalar))
        {
            untouched.SaveCheckpoint(dir.File("c.npz"));
        }

        Checkpoint checkpoint = CheckpointFile.Read(dir.File("c.npz"));
        Assert.Equal(0, checkpoint.Progress.Iteration);
        using var resumed = new Trainer<float>(options, train, test, IsaPath.Scalar);
        resumed.Restore(checkpoint);
        resumed.Run();
        Assert.True(whole.Network.Parameters.SequenceEqual(resumed.Network.Parameters));
    }

    [Fact]
    public void A_model_file_is_not_a_checkpoint_and_a_checkpoint_is_a_model()
    {
        using var dir = new TempDirectory();
        var options = new TrainingOptions { Iterations = 3, BatchSize = 5, HiddenSizes = [8] };
        using var trainer = new Trainer<double>(options, MnistFixture.Subset<double>(50), MnistFixture.Subset<double>(10), IsaPath.Scalar);
        trainer.Step();
        ModelFile.Save(dir.File("model.npz"), trainer.Network);
        trainer.SaveCheckpoint(dir.File("checkpoint.npz"));
        Assert.Contains("not a checkpoint", Assert.Throws<ModelFileException>(() => CheckpointFile.Read(dir.File("model.npz"))).Message, StringComparison.Ordinal);
        Model model = ModelFile.Read(dir.File("checkpoint.npz"));
        Assert.Equal(trainer.Network.Shape, model.Shape);
        Assert.Equal(Precision.Double, model.Precision);
    }

    [Fact]
    public void Restoring_into_a_run_with_other_options_is_refused()
    {
        using var dir = new TempDirectory();
        var options = new TrainingOptions { Iterations = 5, BatchSize = 5, HiddenSizes = [8] };
        Dataset<float> train = MnistFixture.Subset<float>(50), test = MnistFixture.Subset<float>(10);
        using (var trainer = new Trainer<float>(options, train, test, IsaPath.Scalar))
        {
            trainer.Step();
            trainer.SaveCheckpoint(dir.File("c.npz"));
        }

        Checkpoint checkpoint = CheckpointFile.Read(dir.File("c.npz"));
        using var other = new Trainer<float>(options with { BatchSize = 6 }, train, test, IsaPath.Scalar);
        Assert.Throws<ArgumentException>(() => other.Restore(checkpoint));
        using var wider = new Trainer<double>(options, MnistFixture.Subset<double>(50), MnistFixture.Subset<double>(10), IsaPath.Scalar);
        Assert.Contains("<f4", Assert.Throws<ArgumentException>(() => wider.Restore(checkpoint)).Message, StringComparison.Ordinal);
    }

    private static (int, int, double, double, double, bool) Row(EpochReport row) =>
        (row.Epoch, row.Iteration, row.Loss, row.TrainAccuracy, row.TestAccuracy, row.AfterLastStep);
}
