using Microsoft.ML;
using ResNet.MLNet.IO;

namespace ResNet.MLNet.Data;

/// <summary>
/// A labelled image dataset read from a folder tree, as fastai's <c>get_image_files</c> +
/// <c>parent_label</c> + <c>GrandparentSplitter</c> (or <c>RandomSplitter</c>) build it.
/// <see cref="All"/> has the columns <c>ImagePath</c> (absolute path), <c>Label</c> (parent folder name)
/// and <c>IsValid</c>; <see cref="Train"/> and <see cref="Valid"/> are its two halves.
/// Rows are in ordinal order of their path relative to <see cref="Root"/>; every view can shuffle.
/// </summary>
public sealed class ImageFolder
{
    private const int MaxNesting = 32;

    private static readonly string[] Extensions = [".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp"];

    private ImageFolder(string root, IReadOnlyList<ImageFolderItem> items)
    {
        Root = root;
        Items = items;
        Classes = items.Where(i => !i.IsValid).Select(i => i.Label).Distinct().Order(StringComparer.Ordinal).ToArray();
        All = new ImageFolderDataView(items);
        Train = new ImageFolderDataView(items.Where(i => !i.IsValid).ToArray());
        Valid = new ImageFolderDataView(items.Where(i => i.IsValid).ToArray());
        TrainCount = items.Count(i => !i.IsValid);
        ValidCount = items.Count - TrainCount;
    }

    /// <summary>Image file extensions that are loaded (compared case-insensitively, so ImageNet's <c>.JPEG</c> counts).</summary>
    public static IReadOnlyList<string> ImageExtensions { get; } = Array.AsReadOnly(Extensions);

    /// <summary>Absolute path of the dataset's root folder.</summary>
    public string Root { get; }

    /// <summary>Every image: columns <c>ImagePath</c>, <c>Label</c>, <c>IsValid</c>.</summary>
    public IDataView All { get; }

    /// <summary>The training images (<c>IsValid</c> false).</summary>
    public IDataView Train { get; }

    /// <summary>The validation images (<c>IsValid</c> true).</summary>
    public IDataView Valid { get; }

    /// <summary>The class names (labels of the training images), sorted ordinally like fastai's vocab.</summary>
    public IReadOnlyList<string> Classes { get; }

    /// <summary>The rows of <see cref="All"/>, in the same order.</summary>
    public IReadOnlyList<ImageFolderItem> Items { get; }

    /// <summary>Number of training images.</summary>
    public int TrainCount { get; }

    /// <summary>Number of validation images.</summary>
    public int ValidCount { get; }

    /// <summary>
    /// Reads <c>root/&lt;trainName&gt;/&lt;class&gt;/…</c> and <c>root/&lt;validName&gt;/&lt;class&gt;/…</c>
    /// (searched recursively; the label is the folder holding the image). Pass <paramref name="validName"/>
    /// null for a dataset without a validation folder.
    /// </summary>
    /// <exception cref="DirectoryNotFoundException">The root, train or validation folder is missing.</exception>
    /// <exception cref="InvalidDataException">No images, an empty class folder, an image outside a class folder, or a validation label without training images.</exception>
    public static ImageFolder Load(string root, string? validName = Defaults.ValidName, string trainName = Defaults.TrainName)
    {
        string fullRoot = CheckRoot(root);
        CheckFolderName(trainName, nameof(trainName));
        if (validName is not null)
        {
            CheckFolderName(validName, nameof(validName));
            if (string.Equals(validName, trainName, StringComparison.Ordinal))
                throw new ArgumentException($"trainName and validName must differ; both are '{trainName}'.", nameof(validName));
        }

        string trainFolder = Path.Combine(fullRoot, trainName);
        if (!Directory.Exists(trainFolder))
            throw new DirectoryNotFoundException(
                $"The image folder '{fullRoot}' has no training folder '{trainName}' (it contains: {ListSubfolders(fullRoot)}). Pass trainName, or load a folder without train/val with the validFraction overload.");
        var items = new List<ImageFolderItem>();
        AddSplit(items, fullRoot, trainFolder, isValid: false);
        if (validName is not null)
        {
            string validFolder = Path.Combine(fullRoot, validName);
            if (!Directory.Exists(validFolder))
                throw new DirectoryNotFoundException(
                    $"The image folder '{fullRoot}' has no validation folder '{validName}' (it contains: {ListSubfolders(fullRoot)}). Pass validName, or validName: null for no validation set.");
            AddSplit(items, fullRoot, validFolder, isValid: true);
        }

        if (!items.Any(i => !i.IsValid))
            throw new InvalidDataException($"No images ({string.Join(" ", Extensions)}) found under '{trainFolder}'.");
        var trainLabels = items.Where(i => !i.IsValid).Select(i => i.Label).ToHashSet(StringComparer.Ordinal);
        ImageFolderItem? stranger = items.FirstOrDefault(i => i.IsValid && !trainLabels.Contains(i.Label));
        if (stranger is not null)
            throw new InvalidDataException(
                $"The validation label '{stranger.Label}' (e.g. '{stranger.ImagePath}') has no training images; the training classes are: {string.Join(", ", trainLabels.Order(StringComparer.Ordinal))}.");
        return new ImageFolder(fullRoot, Sort(items, fullRoot));
    }

    /// <summary>
    /// Reads every image under <paramref name="root"/> (recursively; the label is the folder holding the image)
    /// and sets aside <paramref name="validFraction"/> of each class, chosen at random with <paramref name="seed"/>,
    /// as the validation set. Each class keeps at least one training image.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="validFraction"/> is not in [0, 1).</exception>
    /// <exception cref="DirectoryNotFoundException">The root is missing.</exception>
    /// <exception cref="InvalidDataException">No images, an empty class folder, or an image directly in the root.</exception>
    public static ImageFolder LoadRandomSplit(string root, double validFraction = 0.2, int seed = 0)
    {
        if (!(validFraction >= 0 && validFraction < 1))
            throw new ArgumentOutOfRangeException(nameof(validFraction), validFraction, "validFraction must be at least 0 and below 1.");
        string fullRoot = CheckRoot(root);
        var items = new List<ImageFolderItem>();
        AddSplit(items, fullRoot, fullRoot, isValid: false);
        if (items.Count == 0)
            throw new InvalidDataException($"No images ({string.Join(" ", Extensions)}) found under '{fullRoot}'.");

        var random = new Random(seed);
        foreach (var group in Sort(items, fullRoot).GroupBy(i => i.Label, StringComparer.Ordinal).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            ImageFolderItem[] members = group.ToArray();
            random.Shuffle(members);
            int valid = Math.Min((int)Math.Round(validFraction * members.Length, MidpointRounding.AwayFromZero), members.Length - 1);
            for (int i = 0; i < valid; i++)
                members[i].IsValid = true;
        }
        return new ImageFolder(fullRoot, Sort(items, fullRoot));
    }

    private static string CheckRoot(string root)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(root);
        string fullRoot = Path.TrimEndingDirectorySeparator(Path.GetFullPath(root));
        if (!Directory.Exists(fullRoot))
            throw new DirectoryNotFoundException(File.Exists(fullRoot)
                ? $"The image folder root '{fullRoot}' is a file, not a folder."
                : $"The image folder root '{fullRoot}' does not exist.");
        return fullRoot;
    }

    private static void CheckFolderName(string name, string parameter)
    {
        if (string.IsNullOrWhiteSpace(name) || name is "." or ".." || name.IndexOfAny(['/', '\\']) >= 0)
            throw new ArgumentException($"{parameter} must be a plain folder name; got '{name}'.", parameter);
    }

    /// <summary>Adds every image under <paramref name="splitFolder"/>; images must sit in a class folder below it.</summary>
    private static void AddSplit(List<ImageFolderItem> items, string root, string splitFolder, bool isValid)
    {
        var options = new EnumerationOptions { RecurseSubdirectories = false, AttributesToSkip = FileAttributes.Hidden | FileAttributes.System, MatchCasing = MatchCasing.CaseInsensitive };
        foreach (string file in Directory.EnumerateFiles(splitFolder, "*", options))
        {
            if (IsImage(file))
                throw new InvalidDataException(
                    $"The image '{file}' is directly in '{splitFolder}'; images must be inside a class folder (the folder name is the label).");
        }
        foreach (string classFolder in Directory.EnumerateDirectories(splitFolder, "*", options).Order(StringComparer.Ordinal))
        {
            int before = items.Count;
            AddClassFolder(items, classFolder, isValid, options, depth: 0);
            if (items.Count == before)
                throw new InvalidDataException(
                    $"The class folder '{classFolder}' contains no images ({string.Join(" ", Extensions)}). Remove it or add images.");
        }
    }

    private static void AddClassFolder(List<ImageFolderItem> items, string folder, bool isValid, EnumerationOptions options, int depth)
    {
        if (depth > MaxNesting)
            throw new InvalidDataException($"The folder '{folder}' is nested more than {MaxNesting} levels deep below its class folder; is there a symbolic-link loop?");
        string label = Path.GetFileName(folder);
        foreach (string file in Directory.EnumerateFiles(folder, "*", options))
        {
            if (!IsImage(file)) continue;
            FileKind.RequireRegular(file, "image");
            items.Add(new ImageFolderItem { ImagePath = file, Label = label, IsValid = isValid });
        }
        foreach (string sub in Directory.EnumerateDirectories(folder, "*", options))
            AddClassFolder(items, sub, isValid, options, depth + 1);
    }

    private static bool IsImage(string path)
    {
        string name = Path.GetFileName(path);
        if (name.StartsWith('.'))
            return false;
        string extension = Path.GetExtension(name);
        foreach (string known in Extensions)
        {
            if (string.Equals(extension, known, StringComparison.OrdinalIgnoreCase))
                return true;
        }
        return false;
    }

    private static ImageFolderItem[] Sort(List<ImageFolderItem> items, string root) =>
        items.OrderBy(i => Path.GetRelativePath(root, i.ImagePath).Replace('\\', '/'), StringComparer.Ordinal).ToArray();

    private static string ListSubfolders(string root)
    {
        string[] names = Directory.GetDirectories(root).Select(d => Path.GetFileName(d)!).Order(StringComparer.Ordinal).Take(20).ToArray();
        return names.Length == 0 ? "no folders" : string.Join(", ", names);
    }

    /// <summary>The standard layout's split folders (fastai's <c>GrandparentSplitter(train_name, valid_name)</c>).</summary>
    internal static class Defaults
    {
        public const string TrainName = "train";
        public const string ValidName = "val";
    }
}
