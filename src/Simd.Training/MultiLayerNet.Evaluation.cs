using CommunityToolkit.HighPerformance;
using Simd.Kernels;

namespace Simd.Training;

/// <summary>A network measured on a whole dataset: loss, accuracy, and which classes it takes for which.</summary>
/// <param name="Count">Images measured.</param>
/// <param name="Loss">Mean cross-entropy over the images (the book's loss without the weight-decay term).</param>
/// <param name="Correct">Images whose predicted class (argmax of the logits) is their label.</param>
/// <param name="Confusion">[label, predicted] counts, [classes x classes] row-major.</param>
public sealed record Evaluation(int Count, double Loss, int Correct, int ClassCount, int[] Confusion)
{
    public double Accuracy => Count == 0 ? 0 : Correct / (double)Count;

    /// <summary>Images of class <paramref name="label"/>.</summary>
    public int CountOf(int label) => Confusion.AsSpan(label * ClassCount, ClassCount).ToArray().Sum();

    /// <summary>The share of class <paramref name="label"/>'s images predicted as it (0 when there are none).</summary>
    public double AccuracyOf(int label) => CountOf(label) is int n and > 0 ? Confusion[(label * ClassCount) + label] / (double)n : 0;
}

/// <summary>Measuring a trained network on a dataset (simd eval): loss, accuracy, confusion matrix.</summary>
public sealed partial class MultiLayerNet<T>
{
    /// <summary>
    /// Loss, accuracy and confusion matrix of the network on <paramref name="data"/>. The images are split into
    /// the same fixed chunks as <see cref="CountCorrect(Dataset{T})"/>; each chunk's losses are summed in image order and the
    /// chunks in chunk order, so the result is the same for any thread count.
    /// </summary>
    public Evaluation Evaluate(Dataset<T> data) => Evaluate(data, null, null);

    /// <summary>
    /// <see cref="Evaluate(Dataset{T})"/>, also giving each image's predicted class and that class's softmax probability
    /// (in double from the logits) in <paramref name="predictions"/> and <paramref name="probabilities"/> [images] when
    /// given (ch08/misclassified_mnist.py's classified_ids).
    /// </summary>
    public Evaluation Evaluate(Dataset<T> data, int[]? predictions, double[]? probabilities)
    {
        ArgumentNullException.ThrowIfNull(data);
        if ((predictions is not null && predictions.Length < data.Count) || (probabilities is not null && probabilities.Length < data.Count))
        {
            throw new ArgumentException($"the predictions and probabilities need room for {data.Count} images");
        }

        if (data.Features != Shape.InputSize || data.ClassCount != Shape.OutputSize)
        {
            throw new ArgumentException($"the images have {data.Features} values and {data.ClassCount} classes; the network takes {Shape.InputSize} and gives {Shape.OutputSize}");
        }

        var work = new DetailedEvaluationWork(this, data, predictions, probabilities);
        _pool.Run(work);
        return work.Result();
    }

    /// <summary>
    /// The book's predict(x) followed by softmax, for one image (normalized, [n_0]): the probability of each
    /// class, computed in double from the logits (one thread, the caller's).
    /// </summary>
    public void Probabilities(ReadOnlySpan<T> image, Span<double> probabilities)
    {
        if (image.Length != Shape.InputSize || probabilities.Length != Shape.OutputSize)
        {
            throw new ArgumentException($"an image of {Shape.InputSize} values and {Shape.OutputSize} probabilities are needed");
        }

        if (StoresHalf)
        {
            Span<T> stored = Workspace.WorkerImages(0)[..image.Length];
            image.CopyTo(stored);
            RoundToHalf(stored, worker: 0);
            image = stored;
        }

        ReadOnlySpan2D<T> logits = ForwardInto(Parameters, image, 1, worker: 0, Layers.PassMode.Inference);
        ReadOnlySpan<T> z = logits.GetRowSpan(0);
        double max = double.NegativeInfinity, sum = 0;
        foreach (T value in z)
        {
            max = Math.Max(max, double.CreateTruncating(value));
        }

        for (int c = 0; c < z.Length; c++)
        {
            probabilities[c] = Math.Exp(double.CreateTruncating(z[c]) - max);
            sum += probabilities[c];
        }

        for (int c = 0; c < z.Length; c++)
        {
            probabilities[c] /= sum;
        }
    }

    /// <summary>softmax(z)[c] in double: 1 / Σ_j exp(z_j − z_c).</summary>
    private static double ProbabilityOf(ReadOnlySpan<T> z, int c)
    {
        double zc = double.CreateTruncating(z[c]), sum = 0;
        foreach (T value in z)
        {
            sum += Math.Exp(double.CreateTruncating(value) - zc);
        }

        return 1 / sum;
    }

    /// <summary>The evaluation chunks again, keeping per chunk the summed loss and the confusion counts.</summary>
    private sealed class DetailedEvaluationWork : ICompletableWork
    {
        private readonly MultiLayerNet<T> _network;
        private readonly Dataset<T> _data;
        private readonly BlockClaims _claims;
        private readonly int _chunkRows;
        private readonly int _chunkCount;
        private readonly double[] _losses;    // [chunks]
        private readonly int[] _confusion;   // [chunks, C, C]
        private readonly int[]? _predictions;     // [images] or null
        private readonly double[]? _probabilities; // [images] or null

        public DetailedEvaluationWork(MultiLayerNet<T> network, Dataset<T> data, int[]? predictions, double[]? probabilities)
        {
            _network = network;
            _data = data;
            _predictions = predictions;
            _probabilities = probabilities;
            (_chunkRows, _chunkCount) = network.EvaluationChunks(data.Count);
            int classes = network.Shape.OutputSize;
            _losses = new double[_chunkCount];
            _confusion = new int[_chunkCount * classes * classes];
            _claims = new BlockClaims(Math.Max(1, _chunkCount));
            _claims.Begin(_chunkCount);
        }

        public bool IsComplete => _claims.IsComplete;

        public Evaluation Result()
        {
            int classes = _network.Shape.OutputSize;
            var confusion = new int[classes * classes];
            double loss = 0;
            for (int chunk = 0; chunk < _chunkCount; chunk++)
            {
                loss += _losses[chunk];
                for (int i = 0; i < confusion.Length; i++)
                {
                    confusion[i] += _confusion[(chunk * confusion.Length) + i];
                }
            }

            int correct = 0;
            for (int c = 0; c < classes; c++)
            {
                correct += confusion[(c * classes) + c];
            }

            return new Evaluation(_data.Count, _data.Count == 0 ? 0 : loss / _data.Count, correct, classes, confusion);
        }

        public void Execute(int worker, int workerCount)
        {
            MultiLayerNet<T> net = _network;
            Workspace<T> ws = net.Workspace;
            int classes = net.Shape.OutputSize;
            Span<T> images = ws.WorkerImages(worker);
            Span<T> rowLosses = ws.WorkerRowLosses(worker);
            ReadOnlySpan<T> parameters = net.Parameters;
            BlockClaims.Cursor cursor = _claims.Open(worker, workerCount);
            for (int chunk = _claims.Next(ref cursor); chunk >= 0; chunk = _claims.Next(ref cursor))
            {
                int start = chunk * _chunkRows, end = Math.Min(_data.Count, start + _chunkRows);
                Span<int> confusion = _confusion.AsSpan(chunk * classes * classes, classes * classes);
                double loss = 0;
                for (int i = start; i < end; i += ws.EvaluationChunkRows)
                {
                    int rows = Math.Min(ws.EvaluationChunkRows, end - i);
                    _data.CopyImages(net.Isa, i, rows, images);
                    net.RoundToHalf(images[..(rows * _data.Features)], worker); // x_test.astype(np.float16) when storing in half
                    ReadOnlySpan2D<T> logits = net.ForwardInto(parameters, images, rows, worker, Layers.PassMode.Inference);
                    ReadOnlySpan<byte> labels = _data.Labels.Slice(i, rows);
                    SoftmaxCrossEntropy.Forward(net.Isa, logits.Flat(), labels, rows, classes, rowLosses[..rows]);
                    for (int r = 0; r < rows; r++)
                    {
                        loss += double.CreateTruncating(rowLosses[r]);
                        int predicted = RowArgMax.Reference(logits.GetRowSpan(r));
                        confusion[(labels[r] * classes) + predicted]++;
                        if (_predictions is not null)
                        {
                            _predictions[i + r] = predicted;
                        }

                        if (_probabilities is not null)
                        {
                            _probabilities[i + r] = ProbabilityOf(logits.GetRowSpan(r), predicted);
                        }
                    }
                }

                _losses[chunk] = loss;
                _claims.Complete(1);
            }
        }
    }
}
