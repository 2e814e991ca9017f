namespace ResNet.MLNet.Tests.Data;

/// <summary>A test that mounts a filesystem (see <see cref="Mount"/>); skipped, saying why, where that is impossible.</summary>
internal sealed class MountFactAttribute : FactAttribute
{
    public MountFactAttribute()
    {
        if (Mount.WhyUnavailable is string reason) Skip = reason;
    }
}
