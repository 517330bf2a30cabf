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
