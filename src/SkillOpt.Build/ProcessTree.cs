using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Text;

namespace SkillOpt.Build;

/// <summary>Starting processes and ending process trees from a netstandard2.0 task.</summary>
internal static class ProcessTree
{
    /// <summary>
    /// Kills <paramref name="process"/> and its descendants: <c>Process.Kill(true)</c> where the runtime has it (.NET Core
    /// 3.0+), else <c>taskkill /T /F</c> on Windows, else the process alone.
    /// </summary>
    public static void Kill(Process process)
    {
        try
        {
            if (process.HasExited)
            {
                return;
            }
            var killTree = typeof(Process).GetMethod("Kill", BindingFlags.Public | BindingFlags.Instance, null, new[] { typeof(bool) }, null);
            if (killTree is not null)
            {
                killTree.Invoke(process, new object[] { true });
                return;
            }
            if (RuntimeInformation.IsOSPlatform(OSPlatform.Windows))
            {
                using var taskkill = Process.Start(new ProcessStartInfo("taskkill", $"/T /F /PID {process.Id}") { UseShellExecute = false, CreateNoWindow = true });
                taskkill?.WaitForExit(10_000);
                return;
            }
            process.Kill();
        }
        catch (InvalidOperationException)
        {
            // already exited
        }
        catch (TargetInvocationException ex) when (ex.InnerException is InvalidOperationException or AggregateException)
        {
            // already exited, or some descendants could not be killed
        }
        catch (System.ComponentModel.Win32Exception)
        {
            // already exiting
        }
    }

    /// <summary>
    /// Quotes <paramref name="arguments"/> into one command line the way <c>CommandLineToArgvW</c> and .NET's
    /// <c>ProcessStartInfo.Arguments</c> parsing read it back (netstandard2.0 has no <c>ArgumentList</c>).
    /// </summary>
    public static string Join(IEnumerable<string> arguments)
    {
        var sb = new StringBuilder();
        foreach (var a in arguments)
        {
            if (sb.Length > 0)
            {
                sb.Append(' ');
            }
            Quote(sb, a);
        }
        return sb.ToString();
    }

    private static void Quote(StringBuilder sb, string arg)
    {
        if (arg.Length > 0 && arg.IndexOfAny(new[] { ' ', '\t', '\n', '\v', '"' }) < 0)
        {
            sb.Append(arg);
            return;
        }
        sb.Append('"');
        for (var i = 0; i < arg.Length; i++)
        {
            var backslashes = 0;
            while (i < arg.Length && arg[i] == '\\')
            {
                backslashes++;
                i++;
            }
            if (i == arg.Length)
            {
                sb.Append('\\', backslashes * 2);
                break;
            }
            if (arg[i] == '"')
            {
                sb.Append('\\', backslashes * 2 + 1).Append('"');
            }
            else
            {
                sb.Append('\\', backslashes).Append(arg[i]);
            }
        }
        sb.Append('"');
    }
}
