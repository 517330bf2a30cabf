using System.Numerics;

namespace Simd.Training;

/// <summary>How two gradients of one parameter tensor differ (the book's gradient_check.py, extended).</summary>
/// <param name="Tensor">Which tensor (W1, b1, W2, b2).</param>
/// <param name="MeanAbsoluteDifference">Mean of |a - n|: what gradient_check.py prints.</param>
/// <param name="MaxAbsoluteDifference">Max of |a - n|.</param>
/// <param name="RelativeError">‖a - n‖ / (‖a‖ + ‖n‖) over the tensor: the gradient-check measure that is thresholded.</param>
/// <param name="MaxElementRelativeError">Max over elements of |a - n| / max(|a|, |n|, <see cref="GradientComparison.ElementFloor"/>): shown, not thresholded.</param>
/// <param name="Excluded">Elements left out of every measure: their central difference straddles a ReLU kink.</param>
public readonly record struct TensorComparison(
    ParameterTensor Tensor, double MeanAbsoluteDifference, double MaxAbsoluteDifference, double RelativeError, double MaxElementRelativeError, int Excluded = 0);

/// <summary>
/// Compares a backprop gradient a with a numerical one n, tensor by tensor.
/// <para>
/// Why the thresholded measure is the tensor's norm ratio ‖a - n‖ / (‖a‖ + ‖n‖) (the classic gradient-check
/// measure) and not the worst element: it averages the truncation of elements whose gradient is tiny, and a
/// wrong gradient still shows up as 1e-2 or more. Against the book's loss (<see cref="NumericalLoss.Book"/>) there
/// is also a floor: backprop's (y - t) / B is the gradient of the loss without the 1e-7 inside log(y + 1e-7), so
/// each element differs by a factor of about δ / y[t] — 1e-6 when the fresh network gives every class about 0.1.
/// Against <see cref="NumericalLoss.Backprop"/> only the O(h²) truncation and rounding are left (about 1e-9).
/// </para>
/// </summary>
public static class GradientComparison
{
    /// <summary>Element gradients below this are compared absolutely: central differences in double carry ~1e-11 of rounding.</summary>
    public const double ElementFloor = 1e-8;

    /// <summary>One comparison per tensor of <paramref name="shape"/>, in buffer order.</summary>
    /// <param name="excluded">Empty, or [parameter count]: non-zero where an element is left out (a ReLU kink between p − h and p + h).</param>
    public static IReadOnlyList<TensorComparison> Compare<T>(NetworkShape shape, ReadOnlySpan<T> backprop, ReadOnlySpan<T> numerical, ReadOnlySpan<byte> excluded = default)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var result = new List<TensorComparison>();
        foreach (ParameterTensor tensor in shape.Tensors)
        {
            ReadOnlySpan<T> a = backprop.Slice(tensor.Offset, tensor.Length);
            ReadOnlySpan<T> n = numerical.Slice(tensor.Offset, tensor.Length);
            ReadOnlySpan<byte> skip = excluded.IsEmpty ? default : excluded.Slice(tensor.Offset, tensor.Length);
            double sum = 0, max = 0, maxElement = 0, diffSquares = 0, aSquares = 0, nSquares = 0;
            int left = 0;
            for (int i = 0; i < a.Length; i++)
            {
                if (!skip.IsEmpty && skip[i] != 0)
                {
                    left++;
                    continue;
                }

                double ai = double.CreateTruncating(a[i]);
                double ni = double.CreateTruncating(n[i]);
                double diff = Math.Abs(ai - ni);
                sum += diff;
                max = Math.Max(max, diff);
                maxElement = Math.Max(maxElement, diff / Math.Max(Math.Max(Math.Abs(ai), Math.Abs(ni)), ElementFloor));
                diffSquares += diff * diff;
                aSquares += ai * ai;
                nSquares += ni * ni;
            }

            // Both gradients within rounding of 0 (a bias that batch normalization cancels): nothing to compare
            // relatively, and the absolute columns show how close to 0 they are.
            double norms = Math.Sqrt(aSquares) + Math.Sqrt(nSquares);
            double relative = norms < ElementFloor ? 0 : Math.Sqrt(diffSquares) / norms;
            int compared = a.Length - left;
            result.Add(new TensorComparison(tensor, compared == 0 ? 0 : sum / compared, max, relative, maxElement, left));
        }

        return result;
    }
}
