namespace Simd.Training;

/// <summary>The hidden layer's activation: sigmoid (the book's ch. 4, the default) or ReLU (ch. 5).</summary>
public enum Activation
{
    Sigmoid,
    Relu,
}

/// <summary>How the gradient is computed: the book's two methods.</summary>
public enum GradientMethod
{
    /// <summary>Backpropagation (ch. 5): fast.</summary>
    Backprop,

    /// <summary>Central differences over every parameter (ch. 4): honest and very slow.</summary>
    Numerical,
}

/// <summary>Element type of the whole computation.</summary>
public enum Precision
{
    /// <summary>float32: the fast default for training.</summary>
    Single,

    /// <summary>float64: what the book's numpy code computes in; the default for the gradient check.</summary>
    Double,
}

/// <summary>Which loss the numerical gradient differentiates.</summary>
public enum NumericalLoss
{
    /// <summary>
    /// The book's: −log(y[t] + δ) with δ = 1e-7, exactly what its numerical_gradient differentiates (and what
    /// <c>train --gradient numerical</c> follows). Backprop's (y − t)/B is the gradient of the loss without δ, so the
    /// two differ by about δ / y[t] per element: a floor near 1e-6 on any comparison.
    /// </summary>
    Book,

    /// <summary>−log y[t] (computed as logsumexp(z) − z[t]): the function backprop differentiates, so a gradient check has no floor but h².</summary>
    Backprop,
}

/// <summary>
/// The one name table of each enum that users and files see: what the CLI accepts and prints, and what model
/// files and checkpoints store ("sigmoid", "relu"; "single", "double").
/// </summary>
public static class Names
{
    /// <summary>Every activation's name, in the enum's order.</summary>
    public static IReadOnlyList<string> Activations { get; } = ["sigmoid", "relu"];

    /// <summary>Every precision's name, in the enum's order.</summary>
    public static IReadOnlyList<string> Precisions { get; } = ["single", "double"];

    public static string Of(Activation activation) => Activations[(int)activation];

    public static string Of(Precision precision) => Precisions[(int)precision];

    /// <summary>The precision a network of element type <typeparamref name="T"/> computes in.</summary>
    public static Precision PrecisionOf<T>() => typeof(T) == typeof(float) ? Precision.Single : Precision.Double;

    /// <summary>The activation named <paramref name="name"/> exactly (case and all), or null.</summary>
    public static Activation? ActivationNamed(string? name) => Activations.IndexOf(name ?? "") is int i and >= 0 ? (Activation)i : null;

    /// <summary>The precision named <paramref name="name"/> exactly, or null.</summary>
    public static Precision? PrecisionNamed(string? name) => Precisions.IndexOf(name ?? "") is int i and >= 0 ? (Precision)i : null;

    private static int IndexOf(this IReadOnlyList<string> names, string name)
    {
        for (int i = 0; i < names.Count; i++)
        {
            if (names[i] == name)
            {
                return i;
            }
        }

        return -1;
    }
}
