using System.CommandLine;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using System.Text;
using Simd.Kernels;

namespace Simd.Cli.Commands;

/// <summary><c>simd info</c>: the CPU, the ISA paths and the one in use, vector widths, threads, runtime.</summary>
internal static class InfoCommand
{
    public static Command Create()
    {
        Option<string?> isa = CommonOptions.Isa();
        Option<int> threads = CommonOptions.Threads();
        var command = new Command("info",
            "Show the CPU, the kernel ISA paths it supports and the one chosen, vector widths, threads and the runtime (JIT or Native AOT).")
        {
            isa, threads,
        };
        command.SetAction(parseResult =>
        {
            TextWriter output = parseResult.InvocationConfiguration.Output;
            string? requested = parseResult.GetValue(isa);
            IsaPath chosen = CommonOptions.ResolveIsa(requested);
            string why = !string.IsNullOrWhiteSpace(requested) ? "forced by --isa"
                : !string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable(Isa.EnvironmentVariable)) ? $"forced by {Isa.EnvironmentVariable}"
                : "the widest supported";
            output.WriteLine($"cpu:          {CpuName()}");
            output.WriteLine($"cpu features: {CpuFeatures()}");
            output.WriteLine($"isa paths:    {string.Join(", ", Isa.Supported.Select(Isa.Name))} (supported)");
            output.WriteLine($"isa chosen:   {Isa.Name(chosen)} ({why})");
            output.WriteLine(
                $"vectors:      Vector128 {Accelerated(Vector128.IsHardwareAccelerated)}, Vector256 {Accelerated(Vector256.IsHardwareAccelerated)}, " +
                $"Vector512 {Accelerated(Vector512.IsHardwareAccelerated)}; Vector<T> is {System.Numerics.Vector<byte>.Count * 8} bits; " +
                $"{Isa.Name(chosen)} holds {LanesOf(chosen, 4)} floats or {LanesOf(chosen, 8)} doubles");
            output.WriteLine($"threads:      {parseResult.GetValue(threads)} workers; {Environment.ProcessorCount} logical processors");
            output.WriteLine(
                $"runtime:      {RuntimeInformation.FrameworkDescription}, {(IsNativeAot ? $"Native AOT compiled for {CompiledIsa()}" : "JIT (code compiled for this CPU as it runs)")}, " +
                $"{RuntimeInformation.RuntimeIdentifier}");
            return ExitCodes.Success;
        });
        return command;
    }

    /// <summary>
    /// True in a Native AOT binary. Not RuntimeFeature.IsDynamicCodeCompiled: PublishAot writes
    /// IsDynamicCodeSupported=false into the JIT build's runtimeconfig too, so that says "no JIT" under
    /// `dotnet run`. What only native code shows is that nothing was ever JIT-compiled: by the time a
    /// command runs, the JIT has compiled hundreds of methods (Main among them).
    /// </summary>
    internal static bool IsNativeAot => System.Runtime.JitInfo.GetCompiledMethodCount(currentThread: false) == 0;

    /// <summary>The instruction set a native binary was compiled for (the SimdIsa build property).</summary>
    internal static string CompiledIsa() =>
        typeof(InfoCommand).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().FirstOrDefault(a => a.Key == "SimdIsa")?.Value ?? "an unknown ISA";

    private static string Accelerated(bool accelerated) => accelerated ? "accelerated" : "not accelerated";

    private static int LanesOf(IsaPath path, int elementBytes) => path switch
    {
        IsaPath.Vector512 => 64 / elementBytes,
        IsaPath.Vector256 => 32 / elementBytes,
        IsaPath.Vector128 => 16 / elementBytes,
        _ => 1,
    };

    /// <summary>The CPU's brand string from CPUID, else /proc/cpuinfo, else the architecture.</summary>
    internal static string CpuName()
    {
        if (X86Base.IsSupported && (uint)X86Base.CpuId(unchecked((int)0x80000000), 0).Eax >= 0x80000004)
        {
            var brand = new StringBuilder(48);
            for (uint leaf = 0x80000002; leaf <= 0x80000004; leaf++)
            {
                (int a, int b, int c, int d) = X86Base.CpuId(unchecked((int)leaf), 0);
                foreach (int register in (ReadOnlySpan<int>)[a, b, c, d])
                {
                    for (int shift = 0; shift < 32; shift += 8)
                    {
                        char ch = (char)((register >> shift) & 0xff);
                        if (ch != '\0')
                        {
                            brand.Append(ch);
                        }
                    }
                }
            }

            string text = brand.ToString().Trim();
            if (text.Length > 0)
            {
                return text;
            }
        }

        try
        {
            string? line = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal));
            if (line is not null)
            {
                return line[(line.IndexOf(':', StringComparison.Ordinal) + 1)..].Trim();
            }
        }
        catch (IOException)
        {
            // Not Linux, or not readable: fall through to the architecture.
        }
        catch (UnauthorizedAccessException)
        {
            // As above.
        }

        return RuntimeInformation.ProcessArchitecture.ToString();
    }

    private static string CpuFeatures()
    {
        var features = new List<string>();
        void Add(bool supported, string name)
        {
            if (supported)
            {
                features.Add(name);
            }
        }

        Add(Sse42.IsSupported, "SSE4.2");
        Add(Avx.IsSupported, "AVX");
        Add(Avx2.IsSupported, "AVX2");
        Add(Fma.IsSupported, "FMA");
        Add(Avx512F.IsSupported, "AVX-512F");
        Add(Avx512BW.IsSupported, "AVX-512BW");
        Add(Avx512DQ.IsSupported, "AVX-512DQ");
        Add(Avx512CD.IsSupported, "AVX-512CD");
        Add(Avx512Vbmi.IsSupported, "AVX-512VBMI");
        Add(System.Runtime.Intrinsics.Arm.AdvSimd.IsSupported, "AdvSIMD");
        return features.Count == 0 ? "(no SIMD the runtime uses)" : string.Join(' ', features);
    }
}
