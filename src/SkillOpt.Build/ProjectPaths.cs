using System;
using System.IO;
using Microsoft.Build.Framework;

namespace SkillOpt.Build;

/// <summary>Paths of items, resolved the way MSBuild resolves them: relative to the project's folder.</summary>
internal static class ProjectPaths
{
    /// <summary>The full path of <paramref name="item"/>: its spec when rooted, else the spec under the folder of <paramref name="projectFile"/>.</summary>
    public static string Full(ITaskItem item, string projectFile)
    {
        var spec = item.ItemSpec;
        try
        {
            if (Path.IsPathRooted(spec))
            {
                return Path.GetFullPath(spec);
            }
            var dir = Path.GetDirectoryName(Path.GetFullPath(projectFile)) ?? Environment.CurrentDirectory;
            return Path.GetFullPath(Path.Combine(dir, spec));
        }
        catch (ArgumentException)
        {
            return spec;
        }
        catch (NotSupportedException)
        {
            return spec;
        }
    }
}
