using Simd.Cli;

namespace Simd.Tests.Support;

/// <summary>Runs the CLI in-process through the real parser, with both outputs captured.</summary>
public static class CliRunner
{
    public static (int Code, string Output, string Error) Run(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int code = SimdCli.Run(args, output, error);
        return (code, output.ToString(), error.ToString());
    }
}
