using Simd.Tests.Support;

namespace Simd.Tests.Cli;

/// <summary>The published Native AOT `simd`: it runs, reports what it was compiled for, trains and checks gradients.</summary>
public class NativeAotTests
{
    [NativeFact]
    public void Info_says_native_aot_and_the_isa_it_was_compiled_for()
    {
        (int code, string output, string error) = NativeBinary.Run(NativeBinary.Path!, "info");
        Assert.True(code == 0, error);
        Assert.Matches(@"(?m)^runtime:\s+\.NET 10.*Native AOT compiled for x86-64-v[34]", output);
        Assert.Matches(@"(?m)^isa chosen:\s+(vector256|vector512)", output);
    }

    [NativeFact]
    public void A_short_train_reaches_its_accuracy_and_allocates_nothing()
    {
        (int code, string output, string error) = NativeBinary.Run(NativeBinary.Path!, "train", "--data", MnistFixture.Directory, "--iters", "601", "--threads", "2");
        Assert.True(code == 0, error);
        Assert.Matches(@"(?m)^final \(iteration 600\): train accuracy 0\.(7[5-9]|8)\d*, test accuracy 0\.(7[5-9]|8)\d*$", output);
        Assert.Contains("allocated in steps 1-600: 0 bytes", output, StringComparison.Ordinal);
    }

    /// <summary>
    /// Beside a busy process a step's wait can outlast the spin, so a worker blocks for the first time
    /// mid-training; the monitor it waits on must already be allocated (before the fix, 5 runs in 10
    /// reported 272 bytes here).
    /// </summary>
    [NativeFact]
    public void Training_beside_a_busy_process_allocates_nothing()
    {
        using var busy = System.Diagnostics.Process.Start("/bin/sh", ["-c", "while :; do :; done"]);
        try
        {
            for (int run = 0; run < 4; run++)
            {
                (int code, string output, string error) = NativeBinary.Run(NativeBinary.Path!, "train", "--data", MnistFixture.Directory, "--iters", "601", "--threads", "2");
                Assert.True(code == 0, error);
                Assert.True(output.Contains("allocated in steps 1-600: 0 bytes", StringComparison.Ordinal), $"run {run}: {output.Split('\n').FirstOrDefault(l => l.StartsWith("allocated", StringComparison.Ordinal))}");
            }
        }
        finally
        {
            busy.Kill();
        }
    }

    /// <summary>ONNX export under Native AOT (Google.Protobuf's generated messages): the same bytes as the JIT build writes.</summary>
    [NativeFact]
    public void Export_writes_the_same_onnx_bytes_as_the_jit_build()
    {
        using var dir = new TempDirectory();
        (int code, _, string error) = CliRunner.Run("train", "--data", SmallMnist.Directory, "--layers", "conv3x3p1-batchnorm-relu-pool2-affine10-dropout0.5", "--iters", "5", "--batch", "10", "--save", dir.File("m.npz"));
        Assert.True(code == 0, error);
        (code, _, error) = NativeBinary.Run(NativeBinary.Path!, "export", "--model", dir.File("m.npz"), "-o", dir.File("native.onnx"));
        Assert.True(code == 0, error);
        (code, _, error) = CliRunner.Run("export", "--model", dir.File("m.npz"), "-o", dir.File("jit.onnx"));
        Assert.True(code == 0, error);
        byte[] native = File.ReadAllBytes(dir.File("native.onnx")), jit = File.ReadAllBytes(dir.File("jit.onnx"));
        Assert.True(native.Length > 1000);
        Assert.Equal(jit, native);
    }

    /// <summary>The convolutional engine under Native AOT: the book's weights from its pickle, a short SimpleConvNet run allocating nothing, its gradient check.</summary>
    [NativeFact]
    public void The_convnet_evaluates_the_books_weights_trains_and_checks_its_gradient()
    {
        string pickle = Simd.Tests.Training.BookPickleTests.BookFile("ch07/params.pkl");
        if (File.Exists(pickle))
        {
            (int evalCode, string evalOutput, string evalError) = NativeBinary.Run(NativeBinary.Path!, "eval", "--data", MnistFixture.Directory, "--model", pickle, "--net", "simple-convnet");
            Assert.True(evalCode == 0, evalError);
            Assert.Matches(@"test\s+10000\s+\S+\s+0\.9600", evalOutput);
        }

        (int code, string output, string error) = NativeBinary.Run(NativeBinary.Path!, "train", "--data", MnistFixture.Directory, "--net", "simple-convnet", "--iters", "100", "--eval-images", "100");
        Assert.True(code == 0, error);
        Assert.Contains("allocated in steps 1-99: 0 bytes", output, StringComparison.Ordinal);
        Assert.Matches(@"(?m)^final \(iteration 99\): train accuracy 0\.[89]\d*, test accuracy 0\.[89]\d*$", output);

        (code, output, error) = NativeBinary.Run(NativeBinary.Path!, "gradcheck", "--data", MnistFixture.Directory, "--layers", "conv10x3-relu-pool2-affine10-relu-affine10");
        Assert.True(code == 0, error + output);
        Assert.Contains("PASS", output, StringComparison.Ordinal);
    }

    [NativeFact]
    public void Gradcheck_passes()
    {
        (int code, string output, string error) = NativeBinary.Run(NativeBinary.Path!, "gradcheck", "--data", MnistFixture.Directory);
        Assert.True(code == 0, error + output);
        Assert.Matches(@"(?m)^max relative error \d\.\d\de-(0[89]|1\d) <= tolerance 1\.00e-07: PASS$", output);
    }

    [NativeFact]
    public void Bad_input_is_a_one_line_usage_error()
    {
        (int code, string output, string error) = NativeBinary.Run(NativeBinary.Path!, "train", "--iters", "0");
        Assert.Equal(64, code);
        Assert.Equal("", output);
        Assert.Equal("simd: --iters must be a positive integer (got 0) (see 'simd train --help')", error.TrimEnd());
    }
}
