using System.IO.Compression;
using System.Text;
using Simd.Kernels;
using Simd.Tests.Support;
using Simd.Training;
using Simd.Training.Models;

namespace Simd.Tests.Training;

/// <summary>
/// Model files and checkpoints that are damaged, contradict themselves or hold what no network can use:
/// each refused with one line naming the file and the array (issue 16), never loaded as something else.
/// </summary>
public class ModelFileHardeningTests
{
    /// <summary>A checkpoint of a short real run (784-4-10, batch normalization when asked) and its arrays.</summary>
    private static List<NpyArray> CheckpointArrays(TempDirectory dir, bool batchNorm = true, double dropout = 0)
    {
        var options = new TrainingOptions { HiddenSizes = [4], BatchNorm = batchNorm, Dropout = dropout, Iterations = 2, BatchSize = 5 };
        using var trainer = new Trainer<float>(options, MnistFixture.TrainSingle, MnistFixture.TestSingle, Isa.Best);
        trainer.Run();
        string path = trainer.SaveCheckpoint(dir.File("source.npz"));
        return [.. Npz.Read(path)];
    }

    private static string Written(TempDirectory dir, IEnumerable<NpyArray> arrays) => Npz.Write(dir.File("case.npz"), arrays);

    private static NpyArray Replace(NpyArray array, Func<string, string> edit) => NpyArray.Text(array.Name, edit(array.ToText()));

    private static string Refusal(Func<object> read) => Assert.Throws<ModelFileException>(read).Message;

    [Fact]
    public void A_checkpoint_whose_options_say_batch_normalization_but_holds_no_gamma_and_beta_is_refused()
    {
        using var dir = new TempDirectory();
        string path = Written(dir, CheckpointArrays(dir).Where(a => !a.Name.StartsWith("gamma", StringComparison.Ordinal) && !a.Name.StartsWith("beta", StringComparison.Ordinal)
            && !a.Name.StartsWith(ModelFile.RunningMeanPrefix, StringComparison.Ordinal) && !a.Name.StartsWith(ModelFile.RunningVariancePrefix, StringComparison.Ordinal)));
        Assert.Contains("its options say batchnorm=true but it holds no gamma and beta arrays", Refusal(() => CheckpointFile.Read(path)), StringComparison.Ordinal);
    }

    [Fact]
    public void A_checkpoint_whose_options_deny_the_gamma_and_beta_it_holds_is_refused()
    {
        using var dir = new TempDirectory();
        string path = Written(dir, CheckpointArrays(dir).Select(a => a.Name == CheckpointFile.TrainingName ? Replace(a, t => t.Replace("batchnorm=true", "batchnorm=false", StringComparison.Ordinal)) : a));
        Assert.Contains("its options say batchnorm=false but it holds gamma and beta arrays", Refusal(() => CheckpointFile.Read(path)), StringComparison.Ordinal);
    }

    [Fact]
    public void A_checkpoint_whose_activation_or_dropout_contradicts_its_options_is_refused()
    {
        using var dir = new TempDirectory();
        List<NpyArray> arrays = CheckpointArrays(dir, batchNorm: false, dropout: 0.25);
        string path = Written(dir, arrays.Select(a => a.Name == ModelFile.ActivationName ? NpyArray.Text(a.Name, "relu") : a));
        Assert.Contains("simd_activation says relu but its options say activation=sigmoid", Refusal(() => CheckpointFile.Read(path)), StringComparison.Ordinal);
        path = Written(dir, arrays.Select(a => a.Name == ModelFile.DropoutName ? NpyArray.Text(a.Name, "0.5") : a));
        Assert.Contains("simd_dropout says 0.5 but its options say dropout=0.25", Refusal(() => CheckpointFile.Read(path)), StringComparison.Ordinal);
    }

    [Fact]
    public void A_learning_rate_that_is_infinite_in_single_precision_is_the_files_fault()
    {
        using var dir = new TempDirectory();
        string path = Written(dir, CheckpointArrays(dir).Select(a => a.Name == CheckpointFile.TrainingName ? Replace(a, t => t.Replace("lr=0.1\n", "lr=1e39\n", StringComparison.Ordinal)) : a));
        string message = Refusal(() => CheckpointFile.Read(path));
        Assert.Contains("simd_training has lr=1E+39, which is infinite in the run's single precision", message, StringComparison.Ordinal);
        Assert.DoesNotContain("--lr", message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_unknown_format_version_is_refused()
    {
        using var dir = new TempDirectory();
        string path = Written(dir, CheckpointArrays(dir).Select(a => a.Name == ModelFile.VersionName ? NpyArray.Text(a.Name, "simd-model 99") : a));
        Assert.Contains("simd_version is 'simd-model 99'; this simd reads 'simd-model 1' files", Refusal(() => ModelFile.Read(path)), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("W1", float.NaN, "W1 holds NaN at element 7 of (784, 4): parameters must be finite numbers")]
    [InlineData("b2", float.PositiveInfinity, "b2 holds Infinity at element 7 of (10,)")]
    [InlineData("gamma1", float.NegativeInfinity, "gamma1 holds -Infinity at element 3 of (4,)")]
    [InlineData(ModelFile.RunningVariancePrefix + "1", -1f, "simd_running_var1 holds -1 at element 3 of (4,): a variance is a finite number, 0 or more")]
    [InlineData(CheckpointFile.State1Name, float.NaN, "simd_state1 holds NaN at element 7")]
    public void Non_finite_parameters_statistics_and_state_are_refused_naming_the_array(string name, float bad, string expected)
    {
        using var dir = new TempDirectory();
        string path = Written(dir, CheckpointArrays(dir).Select(a =>
        {
            if (a.Name != name)
            {
                return a;
            }

            float[] values = a.ToFloating<float>();
            values[Math.Min(7, values.Length - 1)] = bad;
            return NpyArray.Floating<float>(a.Name, values, [.. a.Shape]);
        }));
        Assert.Contains(expected, Refusal(() => CheckpointFile.Read(path)), StringComparison.Ordinal);
    }

    [Fact]
    public void A_bit_flipped_in_the_weights_is_found_by_the_crc()
    {
        using var dir = new TempDirectory();
        string path = Written(dir, CheckpointArrays(dir));
        byte[] bytes = File.ReadAllBytes(path);
        int entry = IndexOf(bytes, "W1.npy"u8), magic = IndexOf(bytes, [0x93, .. "NUMPY"u8], entry);
        bytes[magic + 300] ^= 0x10; // inside W1's 784 x 4 floats, after its 128-byte header
        File.WriteAllBytes(path, bytes);
        Assert.Contains("W1.npy: CRC mismatch (the file is damaged)", Refusal(() => ModelFile.Read(path)), StringComparison.Ordinal);
    }

    [Fact]
    public void An_entry_flagged_encrypted_is_refused()
    {
        using var dir = new TempDirectory();
        string path = Written(dir, CheckpointArrays(dir));
        byte[] bytes = File.ReadAllBytes(path);
        foreach ((byte[] signature, int flagsOffset) in new[] { ([.. "PK\u0003\u0004"u8], 6), ((byte[])[.. "PK\u0001\u0002"u8], 8) })
        {
            for (int at = IndexOf(bytes, signature); at >= 0; at = IndexOf(bytes, signature, at + 4))
            {
                bytes[at + flagsOffset] |= 1;
            }
        }

        File.WriteAllBytes(path, bytes);
        Assert.Contains(".npy is encrypted", Refusal(() => ModelFile.Read(path)), StringComparison.Ordinal);
    }

    [Fact]
    public void Names_are_checked_before_anything_is_inflated()
    {
        using var dir = new TempDirectory();
        string path = dir.File("bomb.npz");
        using (var zip = new ZipArchive(File.Create(path), ZipArchiveMode.Create))
        {
            // 256 MiB of zeros deflate to about 256 KB; a reader that inflates before it looks at the name pays for all of it.
            using Stream stream = zip.CreateEntry("payload.npy", CompressionLevel.Fastest).Open();
            Npy.Write(stream, NpyArray.Floating<float>("payload", new float[64 << 20], 64 << 20));
        }

        long before = GC.GetAllocatedBytesForCurrentThread();
        Assert.Contains("unknown array 'payload'", Refusal(() => ModelFile.Read(path)), StringComparison.Ordinal);
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < (8 << 20), "the entry was inflated before its name was checked");
    }

    [Fact]
    public void A_load_stops_when_cancelled()
    {
        using var dir = new TempDirectory();
        string path = Written(dir, CheckpointArrays(dir));
        using var cancel = new CancellationTokenSource();
        cancel.Cancel();
        Assert.ThrowsAny<OperationCanceledException>(() => ModelFile.Read(path, cancel.Token));
    }

    [Fact]
    public void Device_nodes_and_directories_are_not_model_files()
    {
        Assert.Contains("/dev/zero: is a device, FIFO or socket, not a regular file", Refusal(() => ModelFile.Read("/dev/zero")), StringComparison.Ordinal);
        Assert.Contains("is a directory, not a model file", Refusal(() => ModelFile.Read("/tmp")), StringComparison.Ordinal);
    }

    private static int IndexOf(byte[] bytes, ReadOnlySpan<byte> value, int from = 0)
    {
        int at = bytes.AsSpan(from).IndexOf(value);
        return at < 0 ? -1 : from + at;
    }
}
