using System.Text.RegularExpressions;
using Simd.Cli;
using Simd.Tests.Support;

namespace Simd.Tests.Cli;

/// <summary>Every <c>simd gradcheck</c> example in the README passes at the default tolerance, as the README promises.</summary>
public class ReadmeGradcheckTests
{
    public static TheoryData<string> Examples()
    {
        var data = new TheoryData<string>();
        foreach (Match match in Regex.Matches(File.ReadAllText(Path.Combine(RepositoryRoot.Path, "README.md")), @"(?m)^simd gradcheck([^#\n]*)"))
        {
            data.Add(match.Groups[1].Value.Trim());
        }

        return data;
    }

    [Fact]
    public void The_readme_has_gradcheck_examples() => Assert.True(Examples().Count >= 4, $"{Examples().Count} examples");

    [Theory]
    [MemberData(nameof(Examples))]
    public void A_readme_gradcheck_example_passes_at_the_default_tolerance(string arguments)
    {
        string[] args = ["gradcheck", .. arguments.Split(' ', StringSplitOptions.RemoveEmptyEntries), "--data", MnistFixture.Directory];
        (int code, string output, string error) = CliRunner.Run(args);
        Assert.True(code == ExitCodes.Success, $"simd {string.Join(' ', args)}: exit {code}\n{output}{error}");
        Assert.Matches(@"(?m)^max relative error .* <= tolerance .*: PASS$", output);
    }
}
