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
