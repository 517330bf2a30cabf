namespace Simd.Training;

/// <summary>The book's numerical_gradient (ch. 4): central differences, one parameter at a time.</summary>
public sealed partial class TwoLayerNet<T>
{
    /// <summary>How often (in parameters) the numerical gradient reports progress.</summary>
    private const int ProgressInterval = 256;

    /// <summary>
    /// The naive numerical gradient, exactly the book's method: for every parameter in buffer order
    /// (W1, b1, W2, b2, row-major) set p + h and compute the loss with a full forward pass over the
    /// batch, then p - h and again, restore p, and take (L+ - L-) / 2h with h = 1e-4.
    /// The perturbations are made on a private copy of the parameters, so the network's own
    /// parameters are never disturbed.
    /// </summary>
    /// <param name="progress">Called now and then with (parameters done, parameter count); may be null.</param>
    public void NumericalGradient(ReadOnlySpan<T> x, ReadOnlySpan<byte> labels, int batch, Span<T> gradients, Action<int, int>? progress = null)
    {
        CheckBatch(x, labels, batch);
        int count = Shape.ParameterCount;
        if (gradients.Length < count)
        {
            throw new ArgumentException($"gradients needs {count} elements", nameof(gradients));
        }

        const int worker = 0;
        Span<T> p = Workspace.WorkerParameters(worker);
        Parameters.CopyTo(p);
        T h = T.CreateTruncating(BookDefaults.NumericalGradientStep);
        T twoH = h + h;
        for (int i = 0; i < count; i++)
        {
            T saved = p[i];
            p[i] = saved + h;
            T lossPlus = LossWith(p, x, labels, batch, worker);
            p[i] = saved - h;
            T lossMinus = LossWith(p, x, labels, batch, worker);
            p[i] = saved;
            gradients[i] = (lossPlus - lossMinus) / twoH;
            if (progress is not null && (i + 1) % ProgressInterval == 0)
            {
                progress(i + 1, count);
            }
        }

        progress?.Invoke(count, count);
    }
}
