namespace Simd.Mnist;

/// <summary>
/// Missing or bad MNIST data. The message is one line that names the file and the problem,
/// written for the user (the CLI prints it as is and exits with code 2).
/// </summary>
public sealed class MnistDataException : Exception
{
    public MnistDataException(string file, string problem)
        : base($"{file}: {problem}")
    {
        File = file;
        Problem = problem;
    }

    public MnistDataException(string file, string problem, Exception inner)
        : base($"{file}: {problem}", inner)
    {
        File = file;
        Problem = problem;
    }

    /// <summary>The file (or directory) the problem is about.</summary>
    public string File { get; }

    /// <summary>What is wrong with it.</summary>
    public string Problem { get; }
}
