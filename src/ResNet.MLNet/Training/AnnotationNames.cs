namespace ResNet.MLNet.Training;

/// <summary>ML.NET's annotation kinds used by the trainer (ML.NET keeps its own constants internal).</summary>
internal static class AnnotationNames
{
    public const string SlotNames = "SlotNames";
    public const string KeyValues = "KeyValues";
}
