using Microsoft.ML;
using ResNet.MLNet.Data;

namespace ResNet.MLNet.Cli.Commands;

/// <summary>Loads the image folder a command's <c>--data</c> names, with errors in the CLI's terms.</summary>
internal static class ImageFolderCheck
{
    /// <summary>Loads <paramref name="root"/>, which must hold <c>train/&lt;class&gt;/…</c> and <c>val/&lt;class&gt;/…</c>.</summary>
    public static ImageFolder Load(MLContext ml, string root)
    {
        foreach (string split in new[] { ImageFolder.Defaults.TrainName, ImageFolder.Defaults.ValidName })
        {
            if (!Directory.Exists(Path.Combine(root, split)))
                throw new DirectoryNotFoundException($"--data {root} has no {split}/ folder; the commands read folders laid out as " +
                    "train/<class>/<image> and val/<class>/<image>.");
        }
        return ml.Data.LoadImageFolder(root);
    }
}
