using System.Buffers.Binary;
using System.Text;
using Simd.Training.Files;

namespace Simd.Training.Models;

/// <summary>
/// The book's weight files (ch07/params.pkl, ch08/deep_convnet_params.pkl, ch03/sample_weight.pkl): a pickle
/// (protocol 2 to 5) of a dict from names to numpy float arrays, read as data. No Python object is ever made and
/// nothing is ever called: the few opcodes such a file uses run on a small stack of plain values, and the only
/// globals it may name are the ones numpy's own array pickling uses — <c>numpy.core.multiarray._reconstruct</c>
/// (or numpy 2's <c>numpy._core</c>), <c>numpy.ndarray</c>, <c>numpy.dtype</c>, <c>numpy.core.numeric._frombuffer</c>
/// (protocol 5) and <c>_codecs.encode</c> (protocol 2's bytes) — whose effect is written out here. Anything else is refused with one line naming the file.
/// </summary>
public static class BookPickle
{
    /// <summary>A file larger than this is not a weight file of the book's (its largest is 3.5 MB).</summary>
    public const long MaxFileBytes = 1L << 30;

    private const int MaxStack = 1 << 16;
    private const int MaxMemo = 1 << 20;
    private const int MaxDimensions = 8;

    /// <summary>Every array of the pickled dict at <paramref name="path"/>, in the dict's order.</summary>
    /// <exception cref="ModelFileException">Not a regular file, not a pickle, or a pickle of anything but a dict of float arrays.</exception>
    public static IReadOnlyList<NpyArray> Read(string path)
    {
        string full = Path.GetFullPath(path);
        FileKind kind = FileKinds.Of(full);
        if (kind != FileKind.Regular)
        {
            throw new ModelFileException($"{full}: {(kind == FileKind.Directory ? "is a directory, not a weight file" : FileKinds.Describe(kind))}");
        }

        byte[] bytes;
        try
        {
            long length = new FileInfo(full).Length;
            if (length > MaxFileBytes)
            {
                throw new ModelFileException($"{full}: {length} bytes is more than a weight file of the book's holds (at most {MaxFileBytes})");
            }

            bytes = File.ReadAllBytes(full);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ModelFileException($"{full}: cannot read: {e.Message}", e);
        }

        try
        {
            return Parse(bytes);
        }
        catch (FormatException e)
        {
            throw new ModelFileException($"{full}: not a pickle of the book's weights: {Printable.Line(e.Message)}", e);
        }
    }

    /// <summary>The arrays of a pickled dict of numpy float arrays (see the class).</summary>
    /// <exception cref="FormatException">What is wrong, at which byte.</exception>
    public static IReadOnlyList<NpyArray> Parse(byte[] pickle)
    {
        ArgumentNullException.ThrowIfNull(pickle);
        var stack = new List<object?>();
        var marks = new Stack<int>();
        var memo = new List<object?>();
        int at = 0;
        while (true)
        {
            if (at >= pickle.Length)
            {
                throw new FormatException("the pickle ends before its STOP opcode");
            }

            int opcodeAt = at;
            byte opcode = pickle[at++];
            FormatException Bad(string problem) => new($"{problem} (opcode 0x{opcode:x2} at byte {opcodeAt})");
            object? Pop()
            {
                if (stack.Count == 0 || (marks.Count > 0 && marks.Peek() == stack.Count))
                {
                    throw Bad("the stack is empty");
                }

                object? top = stack[^1];
                stack.RemoveAt(stack.Count - 1);
                return top;
            }

            List<object?> PopToMark()
            {
                if (marks.Count == 0)
                {
                    throw Bad("no MARK to return to");
                }

                int mark = marks.Pop();
                List<object?> items = stack.GetRange(mark, stack.Count - mark);
                stack.RemoveRange(mark, stack.Count - mark);
                return items;
            }

            void Push(object? value)
            {
                if (stack.Count >= MaxStack)
                {
                    throw Bad("the stack grows past any weight file's");
                }

                stack.Add(value);
            }

            ReadOnlySpan<byte> Take(long count)
            {
                if (count < 0 || count > pickle.Length - at)
                {
                    throw Bad($"{count} bytes claimed, {pickle.Length - at} left");
                }

                ReadOnlySpan<byte> taken = pickle.AsSpan(at, (int)count);
                at += (int)count;
                return taken;
            }

            string Text(long count)
            {
                try
                {
                    return new UTF8Encoding(false, true).GetString(Take(count));
                }
                catch (DecoderFallbackException)
                {
                    throw Bad("a string that is not UTF-8");
                }
            }

            switch (opcode)
            {
                case 0x80: // PROTO
                    if (Take(1)[0] is < 2 or > 5)
                    {
                        throw Bad($"pickle protocol {pickle[at - 1]} (the book's files use 2 to 5)");
                    }

                    break;
                case 0x95: // FRAME: a length hint only
                    Take(8);
                    break;
                case 0x7d: // EMPTY_DICT
                    Push(new Dictionary<string, object?>(StringComparer.Ordinal));
                    break;
                case 0x29: // EMPTY_TUPLE
                    Push(Array.Empty<object?>());
                    break;
                case 0x28: // MARK
                    marks.Push(stack.Count);
                    break;
                case 0x94: // MEMOIZE
                    if (stack.Count == 0 || memo.Count >= MaxMemo)
                    {
                        throw Bad("nothing to memoize");
                    }

                    memo.Add(stack[^1]);
                    break;
                case 0x71: // BINPUT
                case 0x72: // LONG_BINPUT
                    {
                        int index = opcode == 0x71 ? Take(1)[0] : (int)Math.Min(BinaryPrimitives.ReadUInt32LittleEndian(Take(4)), int.MaxValue);
                        if (stack.Count == 0 || index > memo.Count || index >= MaxMemo)
                        {
                            throw Bad($"memo slot {index} out of order");
                        }

                        if (index == memo.Count)
                        {
                            memo.Add(stack[^1]);
                        }
                        else
                        {
                            memo[index] = stack[^1];
                        }

                        break;
                    }

                case 0x68: // BINGET
                case 0x6a: // LONG_BINGET
                    {
                        long index = opcode == 0x68 ? Take(1)[0] : BinaryPrimitives.ReadUInt32LittleEndian(Take(4));
                        Push(index < memo.Count ? memo[(int)index] : throw Bad($"memo slot {index} was never stored"));
                        break;
                    }

                case 0x8c: // SHORT_BINUNICODE
                    Push(Text(Take(1)[0]));
                    break;
                case 0x58: // BINUNICODE
                    Push(Text(BinaryPrimitives.ReadUInt32LittleEndian(Take(4))));
                    break;
                case 0x43: // SHORT_BINBYTES
                    Push(Take(Take(1)[0]).ToArray());
                    break;
                case 0x42: // BINBYTES
                    Push(Take(BinaryPrimitives.ReadUInt32LittleEndian(Take(4))).ToArray());
                    break;
                case 0x8e: // BINBYTES8
                case 0x96: // BYTEARRAY8 (protocol 5 keeps an array's data in one)
                    Push(Take(BinaryPrimitives.ReadInt64LittleEndian(Take(8))).ToArray());
                    break;
                case 0x4b: // BININT1
                    Push((long)Take(1)[0]);
                    break;
                case 0x4d: // BININT2
                    Push((long)BinaryPrimitives.ReadUInt16LittleEndian(Take(2)));
                    break;
                case 0x4a: // BININT
                    Push((long)BinaryPrimitives.ReadInt32LittleEndian(Take(4)));
                    break;
                case 0x4e: // NONE
                    Push(null);
                    break;
                case 0x88: // NEWTRUE
                    Push(true);
                    break;
                case 0x89: // NEWFALSE
                    Push(false);
                    break;
                case 0x85: // TUPLE1
                    Push(new[] { Pop() });
                    break;
                case 0x86: // TUPLE2
                    {
                        object? b = Pop(), a = Pop();
                        Push(new[] { a, b });
                        break;
                    }

                case 0x87: // TUPLE3
                    {
                        object? c = Pop(), b = Pop(), a = Pop();
                        Push(new[] { a, b, c });
                        break;
                    }

                case 0x74: // TUPLE
                    Push(PopToMark().ToArray());
                    break;
                case 0x63: // GLOBAL: "module\nname\n"
                    {
                        int moduleEnd = pickle.AsSpan(at).IndexOf((byte)'\n');
                        string module = moduleEnd < 0 ? throw Bad("GLOBAL without its module") : Encoding.ASCII.GetString(Take(moduleEnd));
                        Take(1);
                        int nameEnd = pickle.AsSpan(at).IndexOf((byte)'\n');
                        string name = nameEnd < 0 ? throw Bad("GLOBAL without its name") : Encoding.ASCII.GetString(Take(nameEnd));
                        Take(1);
                        Push(Global(module, name, Bad));
                        break;
                    }

                case 0x93: // STACK_GLOBAL
                    {
                        object? name = Pop(), module = Pop();
                        Push(module is string m && name is string n ? Global(m, n, Bad) : throw Bad("STACK_GLOBAL of something other than two names"));
                        break;
                    }

                case 0x52: // REDUCE: callable(*args), for the few callables above only
                    {
                        object? args = Pop(), callable = Pop();
                        Push(Reduce(callable, args as object?[] ?? throw Bad("REDUCE without an argument tuple"), Bad));
                        break;
                    }

                case 0x62: // BUILD: set the state of the object below
                    {
                        object? state = Pop();
                        Build(stack.Count > 0 ? stack[^1] : throw Bad("BUILD on an empty stack"), state, Bad);
                        break;
                    }

                case 0x73: // SETITEM
                    {
                        object? value = Pop(), key = Pop();
                        SetItems(stack.Count > 0 ? stack[^1] : null, [key, value], Bad);
                        break;
                    }

                case 0x75: // SETITEMS
                    {
                        List<object?> items = PopToMark();
                        SetItems(stack.Count > 0 ? stack[^1] : null, items, Bad);
                        break;
                    }

                case 0x2e: // STOP
                    {
                        object? top = Pop();
                        if (stack.Count != 0 || top is not Dictionary<string, object?> dict)
                        {
                            throw Bad(top is Dictionary<string, object?> ? "values left on the stack" : $"the pickle holds {Describe(top)}, not a dict of arrays");
                        }

                        var result = new Dictionary<string, NpyArray>(StringComparer.Ordinal);
                        foreach ((string name, object? value) in dict)
                        {
                            result[name] = value is PickledArray array ? array.ToNpy(name, Bad) : throw Bad($"'{Printable.Value(name)}' holds {Describe(value)}, not a numpy array");
                        }

                        if (at != pickle.Length)
                        {
                            throw Bad($"{pickle.Length - at} bytes after STOP");
                        }

                        return [.. result.Values];
                    }

                default:
                    throw Bad("an opcode the book's weight files do not use (refused: a pickle can run code, this reader runs none)");
            }
        }
    }

    private static string Describe(object? value) => value switch
    {
        null => "None",
        string => "a string",
        long => "an integer",
        bool => "a boolean",
        byte[] => "bytes",
        object?[] => "a tuple",
        Dictionary<string, object?> => "a dict",
        PickledArray => "an array",
        _ => "another object",
    };

    private static object Global(string module, string name, Func<string, FormatException> bad) => (module, name) switch
    {
        ("numpy.core.multiarray" or "numpy._core.multiarray", "_reconstruct") => Callable.Reconstruct,
        ("numpy", "ndarray") => Callable.NdArray,
        ("numpy", "dtype") => Callable.Dtype,
        ("numpy.core.numeric" or "numpy._core.numeric", "_frombuffer") => Callable.FromBuffer,
        ("_codecs", "encode") => Callable.Encode,
        _ => throw bad($"the global {Printable.Value(module)}.{Printable.Value(name)} (only numpy's array pickling is read)"),
    };

    private static object Reduce(object? callable, object?[] args, Func<string, FormatException> bad)
    {
        switch (callable)
        {
            case Callable.Reconstruct when args is [Callable.NdArray, object?[], byte[]]:
                return new PickledArray();
            case Callable.Dtype when args is [string descr, bool, bool]:
                return new PickledDtype(descr);
            case Callable.FromBuffer when args is [byte[] data, PickledDtype dtype, object?[] shape, "C" or "F"]:
                // Protocol 5: _frombuffer(data, dtype, shape, order).
                return new PickledArray { Data = data, Dtype = dtype, Shape = shape, Fortran = (string)args[3]! == "F" };
            case Callable.Encode when args is [string text, "latin1" or "latin-1"]:
                // Protocol 2 stores bytes as a str of code points 0-255 and _codecs.encode(s, 'latin1').
                return text.Any(c => c > 0xff) ? throw bad("latin1 text with a code point above 255") : Encoding.Latin1.GetBytes(text);
            default:
                throw bad($"REDUCE of {(callable is Callable c ? c.ToString() : Describe(callable))} with arguments numpy does not write");
        }
    }

    private static void Build(object? target, object? state, Func<string, FormatException> bad)
    {
        switch (target)
        {
            case PickledDtype dtype when state is object?[] { Length: 8 } s && s[1] is string order:
                dtype.Order = order;
                break;
            case PickledArray array when state is object?[] { Length: 5 } s && s[1] is object?[] shape && s[2] is PickledDtype dtype && s[3] is bool fortran && s[4] is byte[] data:
                array.Shape = shape;
                array.Dtype = dtype;
                array.Fortran = fortran;
                array.Data = data;
                break;
            default:
                throw bad($"BUILD of {Describe(target)} with a state numpy does not write");
        }
    }

    private static void SetItems(object? target, List<object?> items, Func<string, FormatException> bad)
    {
        if (target is not Dictionary<string, object?> dict || items.Count % 2 != 0)
        {
            throw bad("SETITEMS on something other than a dict");
        }

        for (int i = 0; i < items.Count; i += 2)
        {
            if (items[i] is not string key || !dict.TryAdd(key, items[i + 1]))
            {
                throw bad(items[i] is string repeated ? $"the name '{Printable.Value(repeated)}' twice" : "a dict key that is not a name");
            }
        }
    }

    private enum Callable
    {
        Reconstruct,
        NdArray,
        Dtype,
        FromBuffer,
        Encode,
    }

    private sealed class PickledDtype(string descr)
    {
        public string Descr { get; } = descr;

        public string Order { get; set; } = "|";
    }

    private sealed class PickledArray
    {
        public object?[]? Shape { get; set; }

        public PickledDtype? Dtype { get; set; }

        public bool Fortran { get; set; }

        public byte[]? Data { get; set; }

        public NpyArray ToNpy(string name, Func<string, FormatException> bad)
        {
            if (Shape is null || Dtype is null || Data is null)
            {
                throw bad($"'{Printable.Value(name)}': an array whose state was never set");
            }

            (NpyType type, int itemSize) = (Dtype.Descr, Dtype.Order) switch
            {
                ("f4", "<" or "=") => (NpyType.Float32, 4),
                ("f8", "<" or "=") => (NpyType.Float64, 8),
                _ => throw bad($"'{Printable.Value(name)}' holds dtype {Printable.Value(Dtype.Order + Dtype.Descr)}; the book's weights are little-endian float32 or float64"),
            };
            if (Shape.Length > MaxDimensions || Shape.Any(d => d is not long n || n is < 0 or > int.MaxValue))
            {
                throw bad($"'{Printable.Value(name)}': a shape that is not up to {MaxDimensions} sizes");
            }

            int[] shape = [.. Shape.Select(d => (int)(long)d!)];
            long count = shape.Aggregate(1L, (product, d) => Math.Min(product * d, long.MaxValue / 16));
            if (count * itemSize != Data.Length)
            {
                throw bad($"'{Printable.Value(name)}': shape ({string.Join(", ", shape)}) of {Dtype.Descr} needs {count * itemSize} bytes, the pickle holds {Data.Length}");
            }

            if (Fortran && shape.Length > 1)
            {
                throw bad($"'{Printable.Value(name)}': a Fortran-order array (the book's arrays are C order)");
            }

            return NpyArray.Checked(name, type, itemSize, shape, Data);
        }
    }
}
