using System.Reflection;
using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;

namespace SkillOpt.Testing.Verifiers;

/// <summary>One skill declared by a verifier assembly, with its paths resolved.</summary>
/// <param name="Name">Skill name.</param>
/// <param name="SkillFile">Absolute path of the committed skill file (it may not exist).</param>
/// <param name="ConfigFile">Absolute path of the skill's configuration file, or <see langword="null"/> when none is declared.</param>
public sealed record SkillDeclaration(string Name, string SkillFile, string? ConfigFile);

/// <summary>
/// The skills a verifier assembly declares with <see cref="SkillDefinitionAttribute"/>, read either from a loaded assembly
/// (inside the verifier) or from the file's metadata without loading it (in the trainer).
/// </summary>
public sealed class SkillProject
{
    /// <summary>The assembly metadata key that holds the verifier project's directory.</summary>
    public const string ProjectDirectoryKey = "SkillOpt.ProjectDirectory";

    private const string DefinitionAttributeName = "SkillOpt.Testing.SkillDefinitionAttribute";
    private static readonly Dictionary<Assembly, SkillProject> Loaded = [];

    private SkillProject(string? projectDirectory, string assemblyDirectory, IReadOnlyList<(string Name, string Skill, string? Config)> raw)
    {
        ProjectDirectory = projectDirectory;
        AssemblyDirectory = assemblyDirectory;
        Skills = raw.Select(r => new SkillDeclaration(r.Name, Resolve(r.Skill), r.Config is null ? null : Resolve(r.Config))).ToList();
    }

    /// <summary>The project directory recorded in the assembly, when one was.</summary>
    public string? ProjectDirectory { get; }

    /// <summary>The folder of the verifier assembly.</summary>
    public string AssemblyDirectory { get; }

    /// <summary>The declared skills, in declaration order.</summary>
    public IReadOnlyList<SkillDeclaration> Skills { get; }

    /// <summary>Returns the declaration of <paramref name="name"/>, or <see langword="null"/>.</summary>
    /// <param name="name">Skill name.</param>
    public SkillDeclaration? Find(string name) => Skills.FirstOrDefault(s => string.Equals(s.Name, name, StringComparison.Ordinal));

    /// <summary>
    /// Resolves a path written in the project: absolute paths as they are; relative ones against the project directory
    /// when the file exists there, else against the assembly folder when it exists there, else against the project
    /// directory (or the assembly folder when none is recorded).
    /// </summary>
    /// <param name="path">The path as written.</param>
    public string Resolve(string path)
    {
        if (Path.IsPathRooted(path))
        {
            return Path.GetFullPath(path);
        }
        var candidates = new[] { ProjectDirectory, AssemblyDirectory }.Where(d => d is not null).Select(d => Path.GetFullPath(Path.Combine(d!, path))).ToList();
        return candidates.FirstOrDefault(File.Exists) ?? candidates[0];
    }

    /// <summary>Reads the declarations of a loaded assembly (cached).</summary>
    /// <param name="assembly">The verifier assembly.</param>
    public static SkillProject For(Assembly assembly)
    {
        ArgumentNullException.ThrowIfNull(assembly);
        lock (Loaded)
        {
            if (!Loaded.TryGetValue(assembly, out var project))
            {
                var dir = string.IsNullOrEmpty(assembly.Location) ? AppContext.BaseDirectory : Path.GetDirectoryName(assembly.Location)!;
                var projectDir = assembly.GetCustomAttributes<AssemblyMetadataAttribute>().FirstOrDefault(a => a.Key == ProjectDirectoryKey)?.Value;
                var raw = assembly.GetCustomAttributes<SkillDefinitionAttribute>().Select(a => (a.Name, a.SkillFile, a.ConfigFile)).ToList();
                project = new SkillProject(string.IsNullOrWhiteSpace(projectDir) ? null : projectDir, dir, raw);
                Loaded[assembly] = project;
            }
            return project;
        }
    }

    /// <summary>Reads the declarations from an assembly file's metadata without loading it.</summary>
    /// <param name="assemblyPath">Path of the verifier assembly (<c>.dll</c>).</param>
    /// <exception cref="IOException">The file cannot be read.</exception>
    /// <exception cref="BadImageFormatException">The file is not a .NET assembly.</exception>
    public static SkillProject Read(string assemblyPath)
    {
        var full = Path.GetFullPath(assemblyPath);
        using var stream = File.OpenRead(full);
        using var pe = new PEReader(stream);
        if (!pe.HasMetadata)
        {
            throw new BadImageFormatException("a native binary, with no .NET metadata", full);
        }
        var md = pe.GetMetadataReader();
        var provider = new StringTypeProvider();
        string? projectDir = null;
        var raw = new List<(string, string, string?)>();
        foreach (var handle in md.GetAssemblyDefinition().GetCustomAttributes())
        {
            var attr = md.GetCustomAttribute(handle);
            var typeName = AttributeTypeName(md, attr);
            if (typeName is not (DefinitionAttributeName or "System.Reflection.AssemblyMetadataAttribute"))
            {
                continue;
            }
            var value = attr.DecodeValue(provider);
            var args = value.FixedArguments.Select(a => a.Value as string).ToList();
            if (typeName == DefinitionAttributeName && args.Count >= 2 && args[0] is not null && args[1] is not null)
            {
                raw.Add((args[0]!, args[1]!, args.Count > 2 ? args[2] : null));
            }
            else if (typeName != DefinitionAttributeName && args.Count == 2 && args[0] == ProjectDirectoryKey && !string.IsNullOrWhiteSpace(args[1]))
            {
                projectDir = args[1];
            }
        }
        return new SkillProject(projectDir, Path.GetDirectoryName(full)!, raw);
    }

    private static string? AttributeTypeName(MetadataReader md, CustomAttribute attr)
    {
        EntityHandle type;
        if (attr.Constructor.Kind == HandleKind.MemberReference)
        {
            type = md.GetMemberReference((MemberReferenceHandle)attr.Constructor).Parent;
        }
        else if (attr.Constructor.Kind == HandleKind.MethodDefinition)
        {
            type = md.GetMethodDefinition((MethodDefinitionHandle)attr.Constructor).GetDeclaringType();
        }
        else
        {
            return null;
        }
        return type.Kind switch
        {
            HandleKind.TypeReference => Name(md, md.GetTypeReference((TypeReferenceHandle)type).Namespace, md.GetTypeReference((TypeReferenceHandle)type).Name),
            HandleKind.TypeDefinition => Name(md, md.GetTypeDefinition((TypeDefinitionHandle)type).Namespace, md.GetTypeDefinition((TypeDefinitionHandle)type).Name),
            _ => null,
        };
    }

    private static string Name(MetadataReader md, StringHandle ns, StringHandle name) => md.GetString(ns) + "." + md.GetString(name);

    /// <summary>Decodes attribute arguments of primitive types and strings (all the attributes read here use).</summary>
    private sealed class StringTypeProvider : ICustomAttributeTypeProvider<Type>
    {
        public Type GetPrimitiveType(PrimitiveTypeCode typeCode) => typeCode switch
        {
            PrimitiveTypeCode.String => typeof(string),
            PrimitiveTypeCode.Boolean => typeof(bool),
            PrimitiveTypeCode.Int32 => typeof(int),
            PrimitiveTypeCode.Int64 => typeof(long),
            PrimitiveTypeCode.Double => typeof(double),
            _ => typeof(object),
        };

        public Type GetSystemType() => typeof(Type);

        public Type GetSZArrayType(Type elementType) => elementType.MakeArrayType();

        public Type GetTypeFromDefinition(MetadataReader reader, TypeDefinitionHandle handle, byte rawTypeKind) => typeof(object);

        public Type GetTypeFromReference(MetadataReader reader, TypeReferenceHandle handle, byte rawTypeKind) => typeof(object);

        public Type GetTypeFromSerializedName(string name) => typeof(object);

        public PrimitiveTypeCode GetUnderlyingEnumType(Type type) => PrimitiveTypeCode.Int32;

        public bool IsSystemType(Type type) => type == typeof(Type);
    }
}
