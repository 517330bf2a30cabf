using System.Buffers.Binary;
using System.Globalization;
using System.Text;

namespace Simd.Training.Models;

/// <summary>The element types a model file may hold, by numpy's dtype string.</summary>
public enum NpyType
{
    /// <summary>'&lt;f4': float32, little-endian.</summary>
    Float32,

    /// <summary>'&lt;f8': float64.</summary>
    Float64,

    /// <summary>'&lt;i4': int32 (a checkpoint's next batch).</summary>
    Int32,

    /// <summary>'&lt;i8': int64 (a checkpoint's iteration).</summary>
    Int64,

    /// <summary>'&lt;u8': uint64 (a checkpoint's random state).</summary>
    UInt64,

    /// <summary>'&lt;U n': a unicode string of n UTF-32 code points (metadata).</summary>
    Unicode,
}

/// <summary>
/// One numpy array as a model file holds it: a name (the .npz entry without ".npy"), a type, a C-order
/// shape and its elements as little-endian bytes. Built by the writers here, or by <see cref="Npy.Read"/>
/// after every check.
/// </summary>
public sealed class NpyArray
{
    private NpyArray(string name, NpyType type, int itemSize, int[] shape, byte[] data)
    {
        Name = name;
        Type = type;
        ItemSize = itemSize;
        Shape = shape;
        Data = data;
    }

    public string Name { get; }

    public NpyType Type { get; }

    /// <summary>Bytes per element (4 per code point for <see cref="NpyType.Unicode"/>).</summary>
    public int ItemSize { get; }

    /// <summary>The shape, C order: () for a scalar, (n,) for a vector, (rows, columns) for a matrix.</summary>
    public IReadOnlyList<int> Shape { get; }

    /// <summary>The elements, little-endian, row-major.</summary>
    public byte[] Data { get; }

    /// <summary>numpy's dtype string: '&lt;f4', '&lt;f8', '&lt;i4', '&lt;i8', '&lt;u8' or '&lt;U n'.</summary>
    public string Descr => Type switch
    {
        NpyType.Float32 => "<f4",
        NpyType.Float64 => "<f8",
        NpyType.Int32 => "<i4",
        NpyType.Int64 => "<i8",
        NpyType.UInt64 => "<u8",
        _ => "<U" + (ItemSize / 4).ToString(CultureInfo.InvariantCulture),
    };

    /// <summary>Elements: the product of the shape (1 for a scalar).</summary>
    public long Count => Elements(Shape);

    /// <summary>The shape as numpy prints it: (784, 50), (50,), ().</summary>
    public string ShapeText => Shape.Count == 1 ? $"({Shape[0]},)" : "(" + string.Join(", ", Shape) + ")";

    /// <summary>A float32 or float64 array of <paramref name="values"/> (widened or narrowed to nothing: the type is T's).</summary>
    public static NpyArray Floating<T>(string name, ReadOnlySpan<T> values, params int[] shape)
        where T : unmanaged
    {
        NpyType type = typeof(T) == typeof(float) ? NpyType.Float32
            : typeof(T) == typeof(double) ? NpyType.Float64
            : throw new ArgumentException($"{typeof(T).Name} is not float or double");
        return FromValues(name, type, values, shape);
    }

    public static NpyArray Int32s(string name, ReadOnlySpan<int> values) => FromValues(name, NpyType.Int32, values, [values.Length]);

    public static NpyArray Int64Scalar(string name, long value) => FromValues(name, NpyType.Int64, [value], []);

    public static NpyArray UInt64s(string name, ReadOnlySpan<ulong> values) => FromValues(name, NpyType.UInt64, values, [values.Length]);

    /// <summary>A 0-d unicode array: what <c>np.array("relu")</c> saves.</summary>
    public static NpyArray Text(string name, string value)
    {
        int[] codePoints = [.. EnumerateCodePoints(value)];
        var data = new byte[codePoints.Length * 4];
        for (int i = 0; i < codePoints.Length; i++)
        {
            BinaryPrimitives.WriteInt32LittleEndian(data.AsSpan(i * 4), codePoints[i]);
        }

        return new NpyArray(name, NpyType.Unicode, Math.Max(4, data.Length), [], data.Length == 0 ? new byte[4] : data);
    }

    /// <summary>Made by the reader, whose checks guarantee data.Length == count · itemSize.</summary>
    internal static NpyArray Checked(string name, NpyType type, int itemSize, int[] shape, byte[] data) => new(name, type, itemSize, shape, data);

    /// <summary>The elements as T (float32 or float64 arrays only; a float64 file read as float32 rounds each value).</summary>
    public T[] ToFloating<T>()
        where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        var values = new T[Count];
        for (int i = 0; i < values.Length; i++)
        {
            values[i] = Type switch
            {
                NpyType.Float32 => T.CreateTruncating(BinaryPrimitives.ReadSingleLittleEndian(Data.AsSpan(i * 4))),
                NpyType.Float64 => T.CreateTruncating(BinaryPrimitives.ReadDoubleLittleEndian(Data.AsSpan(i * 8))),
                _ => throw new InvalidOperationException($"{Name} holds {Descr}, not floating-point values"),
            };
        }

        return values;
    }

    public int[] ToInt32s() => Type == NpyType.Int32
        ? [.. Enumerable.Range(0, (int)Count).Select(i => BinaryPrimitives.ReadInt32LittleEndian(Data.AsSpan(i * 4)))]
        : throw new InvalidOperationException($"{Name} holds {Descr}, not int32 values");

    public ulong[] ToUInt64s() => Type == NpyType.UInt64
        ? [.. Enumerable.Range(0, (int)Count).Select(i => BinaryPrimitives.ReadUInt64LittleEndian(Data.AsSpan(i * 8)))]
        : throw new InvalidOperationException($"{Name} holds {Descr}, not uint64 values");

    public long ToInt64() => Type == NpyType.Int64 && Count == 1
        ? BinaryPrimitives.ReadInt64LittleEndian(Data)
        : throw new InvalidOperationException($"{Name} holds {Descr} {ShapeText}, not one int64");

    /// <summary>The text of a unicode array (trailing NULs dropped, as numpy drops them).</summary>
    public string ToText()
    {
        if (Type != NpyType.Unicode)
        {
            throw new InvalidOperationException($"{Name} holds {Descr}, not text");
        }

        var text = new StringBuilder();
        for (int i = 0; i + 4 <= Data.Length; i += 4)
        {
            int codePoint = BinaryPrimitives.ReadInt32LittleEndian(Data.AsSpan(i));
            if (codePoint == 0)
            {
                continue;
            }

            text.Append(codePoint is >= 0 and <= 0x10FFFF and not (>= 0xD800 and <= 0xDFFF) ? char.ConvertFromUtf32(codePoint) : "\uFFFD");
        }

        return text.ToString();
    }

    internal static long Elements(IReadOnlyList<int> shape)
    {
        long count = 1;
        foreach (int dimension in shape)
        {
            count *= dimension;
        }

        return count;
    }

    private static NpyArray FromValues<TValue>(string name, NpyType type, ReadOnlySpan<TValue> values, int[] shape)
        where TValue : unmanaged
    {
        if (Elements(shape) != values.Length)
        {
            throw new ArgumentException($"{name}: {values.Length} values do not fill the shape ({string.Join(", ", shape)})");
        }

        // Every supported host is little-endian (x86-64), as the '<' of the dtype says.
        byte[] data = System.Runtime.InteropServices.MemoryMarshal.AsBytes(values).ToArray();
        return new NpyArray(name, type, System.Runtime.CompilerServices.Unsafe.SizeOf<TValue>(), shape, data);
    }

    private static IEnumerable<int> EnumerateCodePoints(string value)
    {
        for (int i = 0; i < value.Length; i++)
        {
            int codePoint = char.ConvertToUtf32(value, i);
            if (char.IsHighSurrogate(value[i]))
            {
                i++;
            }

            yield return codePoint;
        }
    }
}
