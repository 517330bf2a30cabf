namespace Simd.Tests.Support;

/// <summary>
/// Tests that count allocated bytes across the whole process (GC.GetTotalAllocatedBytes counts every
/// thread) run in this collection: alone, after the parallel tests, so nothing else allocates meanwhile.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class AllocationSensitive
{
    public const string Name = "Allocation (runs alone)";
}
