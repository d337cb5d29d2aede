using System;
using System.Collections.Generic;
using System.IO;
using System.Xml;

namespace SkillOpt.Build;

/// <summary>Where an item is written in a project file, so that a diagnostic about it points at its line.</summary>
internal static class ProjectLocations
{
    /// <summary>
    /// Finds the element <c>&lt;{itemType} Include="…"&gt;</c> that declares <paramref name="itemSpec"/> in <paramref name="projectFile"/>:
    /// the one whose <c>Include</c> lists it, else the <paramref name="ordinal"/>-th element of that type, else the first.
    /// Returns (0, 0) when the file cannot be read or has no such element.
    /// </summary>
    /// <param name="projectFile">The file that defines the item (an item's <c>DefiningProjectFullPath</c>).</param>
    /// <param name="itemType">Item type, e.g. <c>Skill</c>.</param>
    /// <param name="itemSpec">The item as written or evaluated (e.g. <c>skills/math/SKILL.md</c>).</param>
    /// <param name="ordinal">The item's position among the items of that type defined in the file.</param>
    public static (int Line, int Column) Find(string projectFile, string itemType, string itemSpec, int ordinal)
    {
        var found = new List<(int Line, int Column, string Include)>();
        try
        {
            if (!File.Exists(projectFile))
            {
                return (0, 0);
            }
            var settings = new XmlReaderSettings { DtdProcessing = DtdProcessing.Prohibit, XmlResolver = null, IgnoreComments = true };
            using var reader = XmlReader.Create(projectFile, settings);
            var info = (IXmlLineInfo)reader;
            while (reader.Read())
            {
                if (reader.NodeType == XmlNodeType.Element && string.Equals(reader.LocalName, itemType, StringComparison.Ordinal))
                {
                    // LinePosition is the column of the name; the element starts one character earlier, at '<'.
                    found.Add((info.LineNumber, Math.Max(1, info.LinePosition - 1), reader.GetAttribute("Include") ?? reader.GetAttribute("Update") ?? ""));
                }
            }
        }
        catch (XmlException)
        {
            return (0, 0);
        }
        catch (IOException)
        {
            return (0, 0);
        }
        catch (UnauthorizedAccessException)
        {
            return (0, 0);
        }
        if (found.Count == 0)
        {
            return (0, 0);
        }
        var wanted = Normalize(itemSpec);
        foreach (var f in found)
        {
            foreach (var part in f.Include.Split(';'))
            {
                if (Normalize(part) == wanted)
                {
                    return (f.Line, f.Column);
                }
            }
        }
        var pick = ordinal >= 0 && ordinal < found.Count ? found[ordinal] : found[0];
        return (pick.Line, pick.Column);
    }

    /// <summary>The line and column of the root element (<c>&lt;Project&gt;</c>), or (1, 1).</summary>
    /// <param name="projectFile">The project file.</param>
    public static (int Line, int Column) Root(string projectFile)
    {
        try
        {
            var settings = new XmlReaderSettings { DtdProcessing = DtdProcessing.Prohibit, XmlResolver = null };
            using var reader = XmlReader.Create(projectFile, settings);
            var info = (IXmlLineInfo)reader;
            while (reader.Read())
            {
                if (reader.NodeType == XmlNodeType.Element)
                {
                    return (info.LineNumber, Math.Max(1, info.LinePosition - 1));
                }
            }
        }
        catch (XmlException)
        {
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
        return (1, 1);
    }

    private static string Normalize(string path) =>
        path.Trim().Replace('\\', '/').TrimStart('.', '/').ToUpperInvariant();
}
