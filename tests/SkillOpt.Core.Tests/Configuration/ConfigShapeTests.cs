using System.Reflection;
using SkillOpt.Core.Configuration;

namespace SkillOpt.Core.Tests.Configuration;

/// <summary>Bad configuration files of every shape end in a coded SKOPT1xxx with file, line, column and key.</summary>
public class ConfigShapeTests
{
    private static SkillOptConfigException Refused(string yaml) =>
        Assert.Throws<SkillOptConfigException>(() => SkillOptConfigLoader.Parse(yaml, "cfg/skillopt.yaml"));

    [Theory]
    [InlineData("training: ~\n", "training", 1, 1)]
    [InlineData("seed: 1\ngate: ~\n", "gate", 2, 1)]
    [InlineData("rollouts: null\n", "rollouts", 1, 1)]
    [InlineData("models: ~\n", "models", 1, 1)]
    [InlineData("models:\n  target: ~\n", "models.target", 2, 3)]
    [InlineData("models:\n  optimizer:\n", "models.optimizer", 2, 3)]
    [InlineData("training:\n  learning_rate: ~\n", "training.learning_rate", 2, 3)]
    [InlineData("gate:\n  prescreen: ~\n", "gate.prescreen", 2, 3)]
    [InlineData("pricing: ~\n", "pricing", 1, 1)]
    [InlineData("pricing:\n  gpt-5: ~\n", "pricing.gpt-5", 2, 3)]
    public void A_null_section_or_role_names_its_key_and_line(string yaml, string key, int line, int column)
    {
        var ex = Refused(yaml);
        Assert.Equal(("SKOPT1002", key, line, column, "cfg/skillopt.yaml"), (ex.Code, ex.Key, ex.Line, ex.Column, ex.File));
        Assert.Contains($"the section '{key}' is empty", ex.Message, StringComparison.Ordinal);
        Assert.StartsWith($"cfg/skillopt.yaml({line},{column}): error SKOPT1002:", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("- training\n- gate\n", "not a list")]
    [InlineData("42\n", "not the value '42'")]
    [InlineData("just some words\n", "not the value 'just some words'")]
    public void A_root_that_is_not_a_mapping_is_refused_in_plain_words(string yaml, string says)
    {
        var ex = Refused(yaml);
        Assert.Equal(("SKOPT1002", 1, 1), (ex.Code, ex.Line, ex.Column));
        Assert.Contains("the file must be a mapping of keys", ex.Message, StringComparison.Ordinal);
        Assert.Contains(says, ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("training: [1, 2]\n", "training", "must be a mapping of keys, not a list")]
    [InlineData("training: 4\n", "training", "must be a mapping of keys, not the value '4'")]
    [InlineData("training:\n  epochs: [1]\n", "training.epochs", "expected an integer, not a list")]
    [InlineData("training:\n  epochs: { a: 1 }\n", "training.epochs", "expected an integer, not a mapping")]
    [InlineData("training:\n  epochs: ~\n", "training.epochs", "expected an integer, not null")]
    [InlineData("training:\n  epochs: 2.5\n", "training.epochs", "expected an integer")]
    [InlineData("seed: 99999999999999999999999\n", "seed", "must be -2,147,483,648 to 2,147,483,647")]
    [InlineData("gate:\n  sequential: maybe\n", "gate.sequential", "expected true or false")]
    [InlineData("gate:\n  alpha: 0,05\n", "gate.alpha", "expected a number")]
    [InlineData("gate:\n  alpha: .nan\n", "gate.alpha", "expected a number")]
    [InlineData("preset: ~\n", "preset", "expected a string, not null")]
    [InlineData("models:\n  target:\n    provider: [openai]\n", "models.target.provider", "expected a string, not a list")]
    public void A_value_of_the_wrong_type_names_the_key_and_what_was_expected(string yaml, string key, string says)
    {
        var ex = Refused(yaml);
        Assert.Equal(("SKOPT1002", key), (ex.Code, ex.Key));
        Assert.True(ex.Line >= 1 && ex.Column >= 1, ex.Message);
        Assert.Contains(says, ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("rollouts:\n  timeout_seconds: 1e30\n", "rollouts.timeout_seconds", "more than 0 and at most 86,400 seconds")]
    [InlineData("rollouts:\n  timeout_seconds: 99999999999\n", "rollouts.timeout_seconds", "more than 0 and at most 86,400 seconds")]
    [InlineData("rollouts:\n  timeout_seconds: -1\n", "rollouts.timeout_seconds", "more than 0")]
    [InlineData("rollouts:\n  timeout_seconds: .inf\n", "rollouts.timeout_seconds", "expected a number")]
    [InlineData("training:\n  batch_size: 2147483647\n", "training.batch_size", "must be 1 to 10,000")]
    [InlineData("training:\n  batch_size: 2147483648\n", "training.batch_size", "must be 1 to 10,000")]
    [InlineData("rollouts:\n  concurrency: 100000\n", "rollouts.concurrency", "must be 1 to 256")]
    [InlineData("rollouts:\n  concurrency: -4\n", "rollouts.concurrency", "must be 1 to 256")]
    [InlineData("rollouts:\n  max_output_bytes: 10\n", "rollouts.max_output_bytes", "4,096 to 1,073,741,824 bytes")]
    [InlineData("rollouts:\n  workers: 65\n", "rollouts.workers", "must be 0 to 64")]
    [InlineData("training:\n  epochs: 0\n", "training.epochs", "must be 1 to 1,000")]
    [InlineData("gate:\n  max_draws: 0x7fffffff\n", "gate.max_draws", "must be 1 to 100")]
    [InlineData("budget:\n  max_cost_usd: -3\n", "budget.max_cost_usd", "more than 0")]
    [InlineData("budget:\n  max_wall_seconds: 1e300\n", "budget.max_wall_seconds", "at most 31,536,000 seconds")]
    [InlineData("models:\n  target:\n    timeout_seconds: 1e30\n", "models.target.timeout_seconds", "at most 3,600 seconds")]
    [InlineData("models:\n  optimizer:\n    concurrency: 100000\n", "models.optimizer.concurrency", "must be 1 to 1,024")]
    [InlineData("models:\n  target:\n    temperature: 5\n", "models.target.temperature", "must be 0 to 2")]
    [InlineData("pricing:\n  m: { input_per_million: -1, output_per_million: 1 }\n", "pricing.m.input_per_million", "must be 0 to 100,000 US dollars")]
    public void An_out_of_range_number_is_refused_at_load_time_with_its_documented_range(string yaml, string key, string says)
    {
        var ex = Refused(yaml);
        Assert.Equal(("SKOPT1002", key), (ex.Code, ex.Key));
        Assert.Contains(says, ex.Message, StringComparison.Ordinal);
        Assert.Equal(yaml.Split('\n').Length - 1, ex.Line); // the value is on the last line of each case
    }

    [Theory]
    [InlineData("training:\n  epochs: 2\n---\nseed: 3\n", "SKOPT1003", "several YAML documents")]
    [InlineData("seed: 1\nseed: 2\n", "SKOPT1003", "malformed YAML")]
    [InlineData("training:\n  epochs: [1\n", "SKOPT1003", "malformed YAML")]
    [InlineData("? [a, b]\n: 1\n", "SKOPT1001", "must be a name")]
    [InlineData("models:\n  target:\n    api_key_env: sk-proj-abcdefghijklmnop\n", "SKOPT1002", "never the key itself")]
    [InlineData("models:\n  target:\n    provider: openai\n    endpoint: not a url\n", "SKOPT1002", "absolute http:// or https:// URL")]
    [InlineData("rollouts:\n  isolation: thread\n", "SKOPT1002", "'rollouts.isolation': expected one of worker, process")]
    public void Other_shapes_get_a_coded_error_too(string yaml, string code, string says)
    {
        var ex = Refused(yaml);
        Assert.Equal(code, ex.Code);
        Assert.Contains(says, ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("sk-proj", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("splits: { train: 0.6, val: 0.2, test: 0.2\nseed: 1\n")]
    [InlineData("training: [1, 2\nseed: 1\n")]
    [InlineData("seed: 1\ngate: { alpha: 0.05\nseed: 1\n")]
    public void An_unclosed_flow_collection_followed_by_more_lines_is_malformed_yaml_at_a_line(string yaml)
    {
        // YamlDotNet throws InvalidOperationException here instead of a YamlException
        var ex = Refused(yaml);
        Assert.Equal("SKOPT1003", ex.Code);
        Assert.StartsWith("cfg/skillopt.yaml(", ex.Message, StringComparison.Ordinal);
        Assert.Contains("malformed YAML", ex.Message, StringComparison.Ordinal);
        Assert.InRange(ex.Line, 1, yaml.Split('\n').Length);
        Assert.True(ex.Column >= 1, ex.Message);
        Assert.DoesNotContain("Exception", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(50_000, 1)]
    [InlineData(SkillOptConfigLoader.MaxNestingDepth + 1, 1)]
    public void Flow_collections_nested_deeper_than_the_limit_are_refused_before_parsing(int depth, int line)
    {
        var ex = Refused("a: " + new string('[', depth) + new string(']', depth) + "\n");
        Assert.Equal(("SKOPT1003", line), (ex.Code, ex.Line));
        Assert.Contains($"nested more than {SkillOptConfigLoader.MaxNestingDepth} levels deep", ex.Message, StringComparison.Ordinal);
        var mapping = Refused("seed: 1\ntraining: " + string.Concat(Enumerable.Repeat("{a: ", depth)) + "1" + new string('}', depth) + "\n");
        Assert.Equal(("SKOPT1003", 2), (mapping.Code, mapping.Line));
    }

    [Fact]
    public void Block_collections_nested_deeper_than_the_limit_are_refused_before_parsing()
    {
        var depth = SkillOptConfigLoader.MaxNestingDepth + 1;
        var dashes = Refused("seed: 1\ntraining:\n" + string.Concat(Enumerable.Repeat("- ", 50_000)) + "1\n");
        Assert.Equal(("SKOPT1003", 3), (dashes.Code, dashes.Line));
        var indented = Refused("seed: 1\n" + string.Concat(Enumerable.Range(0, depth).Select(i => new string(' ', i) + "k:\n")) + new string(' ', depth) + "v\n");
        Assert.Equal("SKOPT1003", indented.Code);
        Assert.Contains("nested more than", indented.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Brackets_in_quoted_strings_comments_and_block_scalars_do_not_count_as_nesting()
    {
        var many = new string('[', 1000);
        var deeper = string.Concat(Enumerable.Range(1, 80).Select(i => "      " + new string(' ', i) + "x\n"));
        var o = SkillOptConfigLoader.Parse($$"""
            # {{many}}
            seed: 1   # {{many}}
            models:
              target: { provider: scripted, model: "{{many}}", endpoint: '{{many}}''x' }
              optimizer:
                model: |
                  {{many}}
            {{deeper}}
            """, "skillopt.yaml");
        Assert.Equal((many, many + "'x"), (o.Models.Target.Model, o.Models.Target.Endpoint));
        Assert.StartsWith(many + "\n", o.Models.Optimizer.Model, StringComparison.Ordinal);
        // nesting up to the limit is parsed (and then checked against the schema)
        var atLimit = SkillOptConfigLoader.MaxNestingDepth - 1; // the top-level mapping is one level
        var ex = Refused("training: " + new string('[', atLimit) + new string(']', atLimit) + "\n");
        Assert.Equal("SKOPT1002", ex.Code);
        Assert.Contains("must be a mapping of keys, not a list", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void No_error_shows_a_library_type_name_or_an_unexpected_exception()
    {
        string[] corpus =
        [
            "training: ~", "- 1", "!!binary aGVsbG8=", "training: !!str 5", "seed: &a 1\ntraining: *a", "models:\n  target: [1, 2]",
            "pricing: [a]", "pricing:\n  x: 1", "splits: { train: a }", "training:\n  learning_rate: { max: 1e40 }",
            "rollouts: { errored_retries: 1.5 }", "gate:\n  prescreen:\n    enabled: 7", "\t- tab", "{", "key: \"unterminated",
        ];
        foreach (var yaml in corpus)
        {
            var ex = Assert.Throws<SkillOptConfigException>(() => SkillOptConfigLoader.Parse(yaml, "skillopt.yaml"));
            Assert.StartsWith("SKOPT1", ex.Code, StringComparison.Ordinal);
            Assert.True(ex.Line >= 1, $"{yaml}: {ex.Message}");
            Assert.DoesNotContain("YamlDotNet", ex.Message, StringComparison.Ordinal);
            Assert.DoesNotContain("System.", ex.Message, StringComparison.Ordinal);
            Assert.DoesNotContain("Exception", ex.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Values_inside_their_ranges_load()
    {
        var o = SkillOptConfigLoader.Parse("""
            training: { epochs: 1000, batch_size: 10_000 }
            rollouts: { timeout_seconds: 86400, concurrency: 256, max_output_bytes: 4096 }
            gate: { sequential: yes, max_draws: 0x10 }
            models:
              target: { seed: -9000000000, timeout_seconds: 3600 }
            """, "skillopt.yaml");
        Assert.Equal((1000, 10_000, 86400.0, 256, 4096), (o.Training.Epochs, o.Training.BatchSize, o.Rollouts.TimeoutSeconds, o.Rollouts.Concurrency, o.Rollouts.MaxOutputBytes));
        Assert.Equal((true, 16), (o.Gate.Sequential, o.Gate.MaxDraws));
        Assert.Equal(-9_000_000_000, o.Models.Target.Seed);
    }

    [Fact]
    public void Every_number_has_a_range_and_the_docs_list_each_one()
    {
        var numbers = new List<string>();
        void Collect(Type type, string path)
        {
            foreach (var p in type.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.CanWrite))
            {
                var name = YamlDotNet.Serialization.NamingConventions.UnderscoredNamingConvention.Instance.Apply(p.Name);
                var t = Nullable.GetUnderlyingType(p.PropertyType) ?? p.PropertyType;
                var child = p.PropertyType == typeof(ModelRoleOptions) ? path + ".*" : path.Length == 0 ? name : path + "." + name;
                if (t == typeof(int) || t == typeof(long) || t == typeof(double) || t == typeof(float))
                {
                    numbers.Add(child);
                }
                else if (t.IsGenericType && t.GetGenericTypeDefinition() == typeof(Dictionary<,>))
                {
                    Collect(t.GetGenericArguments()[1], child + ".*");
                }
                else if (t != typeof(string) && !t.IsValueType)
                {
                    Collect(t, child);
                }
            }
        }
        Collect(typeof(SkillOptOptions), "");
        Assert.True(numbers.Count > 40, string.Join(", ", numbers));
        Assert.Empty(numbers.Except(ConfigRanges.All.Keys));
        Assert.Empty(ConfigRanges.All.Keys.Except(numbers));

        var docs = File.ReadAllText(Docs("configuration.md"));
        foreach (var (key, range) in ConfigRanges.All)
        {
            Assert.Contains($"| `{key}` | {range} |", docs, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Environment_overrides_are_checked_like_the_keys_they_override_and_name_the_variable()
    {
        var options = SkillOptConfigLoader.Parse("models:\n  target: { provider: openai, model: m }\n", "skillopt.yaml");
        SkillOptConfigException Check(params (string Name, string Value)[] vars) =>
            Assert.Throws<SkillOptConfigException>(() => SkillOptConfigLoader.CheckEnvironment(options, n => vars.FirstOrDefault(v => v.Name == n).Value));

        var provider = Check(("SKILLOPT_TARGET_PROVIDER", "gemini"));
        Assert.Equal(("SKOPT1005", "SKILLOPT_TARGET_PROVIDER"), (provider.Code, provider.Key));
        Assert.StartsWith("skillopt: error SKOPT1005: the environment variable SKILLOPT_TARGET_PROVIDER='gemini' is invalid: expected one of openai", provider.Message, StringComparison.Ordinal);
        Assert.Equal("SKILLOPT_OPTIMIZER_ENDPOINT", Check(("SKILLOPT_OPTIMIZER_ENDPOINT", "localhost:11434")).Key);
        var key = Check(("SKILLOPT_TARGET_API_KEY_ENV", "sk-ant-api03-secretsecret"));
        Assert.Equal("SKILLOPT_TARGET_API_KEY_ENV", key.Key);
        Assert.DoesNotContain("secret", key.Message, StringComparison.Ordinal);

        // valid overrides, empty ones, and a rules-file path for the scripted provider pass
        SkillOptConfigLoader.CheckEnvironment(options, n => n switch
        {
            "SKILLOPT_TARGET_PROVIDER" => "Anthropic",
            "SKILLOPT_TARGET_API_KEY_ENV" => "MY_KEY",
            "SKILLOPT_OPTIMIZER_PROVIDER" => "scripted",
            "SKILLOPT_OPTIMIZER_ENDPOINT" => "rules/optimizer.yaml",
            "SKILLOPT_TARGET_ENDPOINT" => " ",
            _ => null,
        });
    }

    [Fact]
    public void An_unreadable_configuration_path_is_a_coded_error()
    {
        var folder = Directory.CreateTempSubdirectory("skillopt-config-").FullName;
        try
        {
            var ex = Assert.Throws<SkillOptConfigException>(() => SkillOptConfigLoader.Load(folder));
            Assert.Equal("SKOPT1004", ex.Code);
            Assert.Contains("is a folder", ex.Message, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    internal static string Docs(string name)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "docs", name);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }
        throw new FileNotFoundException($"docs/{name} was not found above the test's output folder.");
    }
}
