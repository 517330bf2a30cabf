namespace Simd.Mnist;

/// <summary>One half of MNIST (train or test): images and their labels, as stored in the files.</summary>
public sealed class MnistSplit
{
    internal MnistSplit(string name, int count, ReadOnlyMemory<byte> images, ReadOnlyMemory<byte> labels)
    {
        Name = name;
        Count = count;
        Images = images;
        Labels = labels;
    }

    /// <summary>"train" or "test".</summary>
    public string Name { get; }

    /// <summary>Number of images (= number of labels).</summary>
    public int Count { get; }

    /// <summary>Pixels 0-255, row-major: [Count, 28 * 28].</summary>
    public ReadOnlyMemory<byte> Images { get; }

    /// <summary>Digits 0-9: [Count].</summary>
    public ReadOnlyMemory<byte> Labels { get; }
}

/// <summary>The MNIST database, loaded and validated.</summary>
public sealed class MnistData
{
    private MnistData(string directory, MnistSplit train, MnistSplit test)
    {
        Directory = directory;
        Train = train;
        Test = test;
    }

    /// <summary>Where the files were read from.</summary>
    public string Directory { get; }

    public MnistSplit Train { get; }

    public MnistSplit Test { get; }

    /// <summary>
    /// Loads the four files from <paramref name="directory"/> (each raw or gzipped) and checks that
    /// images are 28 x 28, that each split has as many labels as images, and that every label is 0-9.
    /// </summary>
    /// <exception cref="MnistDataException">A file is missing or bad.</exception>
    public static MnistData Load(string directory)
    {
        if (MnistLocator.DirectoryProblem(directory) is { } problem)
        {
            throw new MnistDataException(directory, problem);
        }

        MnistSplit train = LoadSplit(directory, "train", MnistFiles.TrainImages, MnistFiles.TrainLabels);
        MnistSplit test = LoadSplit(directory, "test", MnistFiles.TestImages, MnistFiles.TestLabels);
        return new MnistData(directory, train, test);
    }

    private static MnistSplit LoadSplit(string directory, string name, MnistFile imagesFile, MnistFile labelsFile)
    {
        IdxFile images = IdxReader.Read(Require(directory, imagesFile), IdxKind.Images);
        IdxFile labels = IdxReader.Read(Require(directory, labelsFile), IdxKind.Labels);
        if (images.Dimensions[1] != MnistFiles.ImageRows || images.Dimensions[2] != MnistFiles.ImageColumns)
        {
            throw new MnistDataException(images.Name,
                $"images are {images.Dimensions[1]} x {images.Dimensions[2]}, expected {MnistFiles.ImageRows} x {MnistFiles.ImageColumns}");
        }

        if (images.Count != labels.Count)
        {
            throw new MnistDataException(labels.Name,
                $"count mismatch: {labels.Count} labels for {images.Count} images in {images.Name}");
        }

        CheckLabelRange(labels);
        return new MnistSplit(name, images.Count, images.Data, labels.Data);
    }

    /// <summary>Every label must name one of the ten classes.</summary>
    internal static void CheckLabelRange(IdxFile labels)
    {
        ReadOnlySpan<byte> span = labels.Data.Span;
        int bad = span.IndexOfAnyExceptInRange((byte)0, (byte)(MnistFiles.ClassCount - 1));
        if (bad >= 0)
        {
            throw new MnistDataException(labels.Name,
                $"label {span[bad]} at index {bad} is out of range 0-{MnistFiles.ClassCount - 1}");
        }
    }

    private static string Require(string directory, MnistFile file) =>
        MnistLocator.FindFile(directory, file)
        ?? throw new MnistDataException(Path.Combine(directory, file.Name),
            $"not found (neither {file.Name} nor {file.Name}.gz); run 'simd data fetch' or point --data / {MnistLocator.EnvironmentVariable} at the MNIST files");
}
