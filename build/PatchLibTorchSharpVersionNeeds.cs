using System;
using System.IO;
using System.Text;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

// Compiled by MSBuild's RoslynCodeTaskFactory (netstandard2.0 API surface, no nullable context).

/// <summary>
/// Marks the GLIBCXX_3.4.32 version requirement of every libLibTorchSharp.so below <see cref="Directory"/>
/// as weak when the system libstdc++ does not provide that version. Idempotent; replaces files atomically
/// so a hard link into the NuGet cache is never written through.
/// </summary>
public sealed class PatchLibTorchSharpVersionNeeds : Task
{
    private const string MissingVersion = "GLIBCXX_3.4.32";
    private const uint MissingVersionHash = 0x0297f842;
    private const uint ShtGnuVerneed = 0x6ffffffe;
    private const ushort VerFlgWeak = 0x2;

    [Required]
    public string Directory { get; set; } = "";

    public override bool Execute()
    {
        string[] libraries = System.IO.Directory.GetFiles(Directory, "libLibTorchSharp.so", SearchOption.AllDirectories);
        if (libraries.Length == 0) return true;
        string libstdcxx = FindSystemLibStdCxx();
        if (libstdcxx == null)
        {
            Log.LogMessage(MessageImportance.Normal, "ResNet.MLNet: no system libstdc++ found; libLibTorchSharp.so left as shipped.");
            return true;
        }
        if (Contains(File.ReadAllBytes(libstdcxx), Encoding.ASCII.GetBytes(MissingVersion + "\0")))
        {
            Log.LogMessage(MessageImportance.Normal, $"ResNet.MLNet: {libstdcxx} provides {MissingVersion}; no patch needed.");
            return true;
        }
        foreach (string library in libraries)
        {
            try
            {
                PatchOne(library);
            }
            catch (Exception e) when (e is IOException || e is InvalidDataException || e is UnauthorizedAccessException)
            {
                Log.LogError($"ResNet.MLNet: could not patch {library}: {e.Message}");
                return false;
            }
        }
        return !Log.HasLoggedErrors;
    }

    private void PatchOne(string path)
    {
        byte[] elf = File.ReadAllBytes(path);
        if (elf.Length < 64 || elf[0] != 0x7f || elf[1] != (byte)'E' || elf[2] != (byte)'L' || elf[3] != (byte)'F' || elf[4] != 2 || elf[5] != 1)
            throw new InvalidDataException("not a little-endian ELF64 file");

        ulong shoff = BitConverter.ToUInt64(elf, 0x28);
        int shentsize = BitConverter.ToUInt16(elf, 0x3A);
        int shnum = BitConverter.ToUInt16(elf, 0x3C);
        for (int s = 0; s < shnum; s++)
        {
            int header = checked((int)shoff + s * shentsize);
            if (BitConverter.ToUInt32(elf, header + 4) != ShtGnuVerneed) continue;
            int sectionOffset = checked((int)BitConverter.ToUInt64(elf, header + 0x18));
            uint link = BitConverter.ToUInt32(elf, header + 0x28);
            uint count = BitConverter.ToUInt32(elf, header + 0x2C);
            int stringsHeader = checked((int)shoff + (int)link * shentsize);
            int strings = checked((int)BitConverter.ToUInt64(elf, stringsHeader + 0x18));

            int verneed = sectionOffset;
            for (uint n = 0; n < count; n++)
            {
                ushort auxCount = BitConverter.ToUInt16(elf, verneed + 2);
                int vernaux = verneed + (int)BitConverter.ToUInt32(elf, verneed + 8);
                for (int a = 0; a < auxCount; a++)
                {
                    uint hash = BitConverter.ToUInt32(elf, vernaux);
                    ushort flags = BitConverter.ToUInt16(elf, vernaux + 4);
                    uint name = BitConverter.ToUInt32(elf, vernaux + 8);
                    if (hash == MissingVersionHash && ReadString(elf, strings + (int)name) == MissingVersion)
                    {
                        if ((flags & VerFlgWeak) != 0)
                        {
                            Log.LogMessage(MessageImportance.Low, $"ResNet.MLNet: {path} already has {MissingVersion} marked weak.");
                            return;
                        }
                        BitConverter.GetBytes((ushort)(flags | VerFlgWeak)).CopyTo(elf, vernaux + 4);
                        string temporary = path + ".resnet-mlnet.tmp";
                        File.WriteAllBytes(temporary, elf);
                        File.Replace(temporary, path, null);
                        Log.LogMessage(MessageImportance.High,
                            $"ResNet.MLNet: system libstdc++ lacks {MissingVersion}; marked that version requirement of {path} as weak so TorchSharp loads.");
                        return;
                    }
                    vernaux += (int)BitConverter.ToUInt32(elf, vernaux + 12);
                }
                verneed += (int)BitConverter.ToUInt32(elf, verneed + 12);
            }
        }
        Log.LogMessage(MessageImportance.Low, $"ResNet.MLNet: {path} does not require {MissingVersion}; nothing to do.");
    }

    private static string FindSystemLibStdCxx()
    {
        string[] candidates =
        {
            "/lib/x86_64-linux-gnu/libstdc++.so.6", "/usr/lib/x86_64-linux-gnu/libstdc++.so.6",
            "/lib/aarch64-linux-gnu/libstdc++.so.6", "/usr/lib/aarch64-linux-gnu/libstdc++.so.6",
            "/usr/lib64/libstdc++.so.6", "/lib64/libstdc++.so.6", "/usr/lib/libstdc++.so.6",
        };
        foreach (string candidate in candidates)
            if (File.Exists(candidate)) return candidate;
        return null;
    }

    private static string ReadString(byte[] data, int offset)
    {
        int end = Array.IndexOf(data, (byte)0, offset);
        return Encoding.ASCII.GetString(data, offset, end - offset);
    }

    private static bool Contains(byte[] haystack, byte[] needle)
    {
        for (int i = 0; i + needle.Length <= haystack.Length; i++)
        {
            int j = 0;
            while (j < needle.Length && haystack[i + j] == needle[j]) j++;
            if (j == needle.Length) return true;
        }
        return false;
    }
}
