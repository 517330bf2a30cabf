namespace Simd.Cli;

/// <summary>What <c>simd</c> returns to the shell.</summary>
public static class ExitCodes
{
    public const int Success = 0;

    /// <summary><c>simd gradcheck</c>: an error above the tolerance.</summary>
    public const int GradientCheckFailed = 1;

    /// <summary>MNIST, or a model or checkpoint file, missing or bad (the message names the file and the problem).</summary>
    public const int DataError = 2;

    /// <summary><c>simd train</c>: the loss became NaN or infinite (the learning rate is too high, usually).</summary>
    public const int TrainingDiverged = 3;

    /// <summary>A bad command line: unknown option, invalid value (sysexits' EX_USAGE).</summary>
    public const int UsageError = 64;

    /// <summary>Standard output cannot be written (closed, or a full disk): sysexits' EX_IOERR.</summary>
    public const int OutputError = 74;

    /// <summary>Interrupted by Ctrl+C.</summary>
    public const int Interrupted = 130;
}

/// <summary>A user mistake found after parsing (e.g. an ISA this CPU lacks): one line, exit code 64.</summary>
public sealed class UsageException(string message) : Exception(message);
