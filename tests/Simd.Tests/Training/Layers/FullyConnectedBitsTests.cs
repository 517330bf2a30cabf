using System.Security.Cryptography;
using Simd.Tests.Support;
using Simd.Training.Models;

namespace Simd.Tests.Training.Layers;

/// <summary>
/// The fully connected networks moved onto the layer engine (issue 17) train to the very bits of the engine before it:
/// each run's saved parameters hash to what commit 0037bcd (the last before the move) saved for the same command. The
/// hashes are SHA-256 of the parameter arrays' bytes in file order (W1, b1, ...), taken from that commit's files with numpy.
/// </summary>
public class FullyConnectedBitsTests
{
    [Theory]
    // The book's ch. 4 run (2000 of its iterations).
    [InlineData("ac001779368b63b0", "--iters", "2000")]
    // A ch. 6 deep network: five ReLU layers, He, Adam, weight decay.
    [InlineData("4ca97d806b993c09", "--hidden", "100,100,100,100,100", "--activation", "relu", "--init", "he", "--optimizer", "adam", "--iters", "600", "--weight-decay", "0.01")]
    // Batch normalization with dropout after ReLU, momentum, two threads.
    [InlineData("db73fda12f2ca80b", "--hidden", "100,100", "--activation", "relu", "--init", "he", "--batchnorm", "--dropout", "0.2", "--optimizer", "momentum", "--iters", "600", "--threads", "2")]
    // Batch normalization with dropout after sigmoid, AdaGrad, three threads, an odd batch, double precision.
    [InlineData("b4df80c3621e84fa", "--hidden", "100,100", "--activation", "sigmoid", "--init", "xavier", "--batchnorm", "--dropout", "0.3", "--optimizer", "adagrad",
        "--iters", "300", "--threads", "3", "--batch", "37", "--precision", "double")]
    public void Training_gives_the_parameters_the_engine_before_layers_gave(string expectedHash, params string[] options)
    {
        using var dir = new TempDirectory();
        (int code, _, string error) = CliRunner.Run(["train", .. options, "--save", dir.File("m.npz"), "--data", MnistFixture.Directory]);
        Assert.True(code == 0, error);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (NpyArray array in Npz.Read(dir.File("m.npz")).Where(a => !a.Name.StartsWith("simd_", StringComparison.Ordinal)))
        {
            hash.AppendData(array.Data);
        }

        Assert.Equal(expectedHash, Convert.ToHexStringLower(hash.GetHashAndReset())[..16]);
    }
}
