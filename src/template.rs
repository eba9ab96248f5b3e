//! Templates of the pipeline file (`out`, `run`, `shell`, plot titles): one
//! minijinja environment with strict undefined, shell quoting for `shell`
//! strings, and the list of names each kind of task may use.

use std::collections::{BTreeSet, HashMap};

use minijinja::value::{Value, ValueKind};
use minijinja::{AutoEscape, Environment, Error, ErrorKind, UndefinedBehavior};

use crate::config::Fanout;

/// The suffix of template ids whose output is a shell command line.
const SHELL_SUFFIX: &str = ".shell";

/// Every template of one pipeline file, compiled once.
pub(crate) struct Templates {
    env: Environment<'static>,
    /// Per template id: what is known without rendering it.
    info: HashMap<String, Info>,
    /// (shell or not, text) -> the id it is compiled under: a text used by
    /// many steps (`{{ input }}`) is compiled once. A compiled template
    /// takes some 10 KB, so this is most of a big pipeline's memory
    /// (issue 10, item 10).
    compiled: HashMap<(bool, String), String>,
    /// Ids whose text is compiled under another id.
    alias: HashMap<String, String>,
}

/// What a compiled template reads, and its text when it reads nothing.
struct Info {
    /// The output, when the text has no template syntax at all.
    literal: Option<String>,
    /// Top-level names it reads.
    variables: Vec<String>,
}

impl std::fmt::Debug for Templates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Templates").finish_non_exhaustive()
    }
}

/// Where a template is used, which decides the names it may read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Use {
    /// An `out` path: everything but `out`/`outs`.
    Out,
    /// A command, a plot title: everything.
    Action,
}

impl Templates {
    /// An empty set with the pipeline's rules: strict undefined, shell
    /// quoting for ids ending in `.shell`, no lists where one word is meant.
    pub(crate) fn new() -> Templates {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_fuel(Some(1_000_000));
        env.set_auto_escape_callback(|name| {
            if name.ends_with(SHELL_SUFFIX) {
                AutoEscape::Custom("sh".into())
            } else {
                AutoEscape::None
            }
        });
        env.set_formatter(format_value);
        Templates {
            env,
            info: HashMap::new(),
            compiled: HashMap::new(),
            alias: HashMap::new(),
        }
    }

    /// The id under which template `id`'s text is compiled (two ids with
    /// one text and kind share one compiled template).
    pub(crate) fn compiled_id<'a>(&'a self, id: &'a str) -> &'a str {
        self.alias.get(id).map_or(id, String::as_str)
    }

    /// The id for a shell command template of `step`.
    pub(crate) fn shell_id(step: &str) -> String {
        format!("steps.{step}{SHELL_SUFFIX}")
    }

    /// Compiles `text` under `id`.
    pub(crate) fn add(&mut self, id: &str, text: &str) -> Result<(), Error> {
        // Text without `{` has no expression, tag or comment: it renders as
        // itself, and is not compiled.
        if !text.contains('{') {
            let info = Info {
                literal: Some(text.to_owned()),
                variables: Vec::new(),
            };
            self.info.insert(id.to_owned(), info);
            return Ok(());
        }
        let key = (id.ends_with(SHELL_SUFFIX), text.to_owned());
        if let Some(first) = self.compiled.get(&key) {
            let info = self.info.get(first).map(|i| Info {
                literal: None,
                variables: i.variables.clone(),
            });
            self.alias.insert(id.to_owned(), first.clone());
            if let Some(info) = info {
                self.info.insert(id.to_owned(), info);
            }
            return Ok(());
        }
        self.env
            .add_template_owned(id.to_owned(), text.to_owned())?;
        let variables = self
            .env
            .get_template(id)?
            .undeclared_variables(false)
            .into_iter()
            .collect();
        self.info.insert(
            id.to_owned(),
            Info {
                literal: None,
                variables,
            },
        );
        self.compiled.insert(key, id.to_owned());
        Ok(())
    }

    /// Names the template reads that a task of this kind does not have.
    pub(crate) fn unknown_names(&self, id: &str, fanout: Fanout, usage: Use) -> Vec<String> {
        let Ok(template) = self.env.get_template(self.compiled_id(id)) else {
            return Vec::new();
        };
        let allowed = allowed_names(fanout, usage);
        let globals: BTreeSet<String> = self.env.globals().map(|(k, _)| k.to_owned()).collect();
        let mut unknown: Vec<String> = template
            .undeclared_variables(false)
            .into_iter()
            .filter(|name| !allowed.contains(&name.as_str()) && !globals.contains(name))
            .collect();
        unknown.sort();
        unknown
    }

    /// Every dotted name the template reads below `vars`, `batch` and
    /// `pipeline` (`vars.title`), for checking attributes at load time.
    pub(crate) fn attribute_names(&self, id: &str) -> Vec<String> {
        let Ok(template) = self.env.get_template(self.compiled_id(id)) else {
            return Vec::new();
        };
        let mut names: Vec<String> = template
            .undeclared_variables(true)
            .into_iter()
            .filter(|n| n.contains('.'))
            .collect();
        names.sort();
        names
    }

    /// Renders the template once with stand-ins for every name a task has,
    /// to find filters and tests that do not exist: minijinja looks them up
    /// only when rendering, and the file should be refused at load time.
    /// `stand_in` is `stand_in_context(vars)`, made once per file.
    pub(crate) fn unknown_callable(&self, id: &str, stand_in: &Value) -> Option<UnknownCallable> {
        let err = self.render(id, stand_in).err()?;
        let (kind, known) = match err.kind() {
            ErrorKind::UnknownFilter => ("filter", FILTER_NAMES),
            ErrorKind::UnknownTest => ("test", TEST_NAMES),
            _ => return None,
        };
        let detail = err.detail().unwrap_or_default();
        let name = detail
            .strip_prefix(kind)
            .and_then(|d| d.strip_suffix(" is unknown"))
            .unwrap_or(detail)
            .trim()
            .to_owned();
        let known = known
            .iter()
            .copied()
            .filter(|k| self.has_callable(kind, k))
            .collect();
        Some(UnknownCallable {
            kind,
            name,
            range: err.range(),
            known,
        })
    }

    /// Whether the environment has a filter / test of that name.
    fn has_callable(&self, kind: &str, name: &str) -> bool {
        let probe = format!("{{{{ {name:?} is {kind} }}}}");
        self.env
            .render_str(&probe, minijinja::context! {})
            .is_ok_and(|out| out == "True")
    }

    /// Every top-level name the template reads.
    pub(crate) fn variables(&self, id: &str) -> &[String] {
        self.info.get(id).map_or(&[], |i| i.variables.as_slice())
    }

    /// Whether template `id` reads `name`.
    pub(crate) fn reads(&self, id: &str, name: &str) -> bool {
        self.variables(id).iter().any(|v| v == name)
    }

    /// Renders template `id` with `ctx`.
    pub(crate) fn render(&self, id: &str, ctx: &Value) -> Result<String, Error> {
        if let Some(literal) = self.info.get(id).and_then(|i| i.literal.as_ref()) {
            return Ok(literal.clone());
        }
        self.env.get_template(self.compiled_id(id))?.render(ctx)
    }
}

/// A filter or test a template uses that minijinja does not have.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct UnknownCallable {
    /// `filter` or `test`.
    pub(crate) kind: &'static str,
    /// The name as written.
    pub(crate) name: String,
    /// Where in the template.
    pub(crate) range: Option<std::ops::Range<usize>>,
    /// The ones that exist (for "did you mean").
    pub(crate) known: Vec<&'static str>,
}

/// minijinja's built-in filters (those of the enabled features are offered).
const FILTER_NAMES: &[&str] = &[
    "abs",
    "attr",
    "batch",
    "bool",
    "capitalize",
    "chain",
    "count",
    "d",
    "default",
    "dictsort",
    "e",
    "escape",
    "first",
    "float",
    "format",
    "groupby",
    "indent",
    "int",
    "items",
    "join",
    "last",
    "length",
    "lines",
    "list",
    "lower",
    "map",
    "max",
    "min",
    "pprint",
    "reject",
    "rejectattr",
    "replace",
    "reverse",
    "round",
    "safe",
    "select",
    "selectattr",
    "slice",
    "sort",
    "split",
    "string",
    "sum",
    "title",
    "tojson",
    "trim",
    "unique",
    "upper",
    "urlencode",
    "zip",
];

/// minijinja's built-in tests.
const TEST_NAMES: &[&str] = &[
    "boolean",
    "defined",
    "divisibleby",
    "endingwith",
    "eq",
    "even",
    "false",
    "filter",
    "float",
    "ge",
    "gt",
    "in",
    "integer",
    "iterable",
    "le",
    "lower",
    "lt",
    "mapping",
    "ne",
    "none",
    "number",
    "odd",
    "safe",
    "sameas",
    "sequence",
    "startingwith",
    "string",
    "test",
    "true",
    "undefined",
    "upper",
];

/// A task context with a stand-in for every name (`key`, `input`, `batch`,
/// ...), for rendering a template once at load time.
pub(crate) fn stand_in_context(vars: &Value) -> Value {
    let pipeline: std::collections::BTreeMap<&str, Value> = [
        ("name", Value::from("pipeline")),
        ("root", Value::from("/root")),
        ("out", Value::from("out")),
    ]
    .into_iter()
    .collect();
    let batch: std::collections::BTreeMap<&str, Value> =
        [("index", Value::from(0)), ("count", Value::from(1))]
            .into_iter()
            .collect();
    let ctx: std::collections::BTreeMap<&str, Value> = [
        ("vars", vars.clone()),
        ("pipeline", Value::from_object(pipeline)),
        ("key", Value::from("x")),
        ("input", Value::from("data/x.csv")),
        ("inputs", Value::from(vec!["data/x.csv"])),
        ("stem", Value::from("x")),
        ("name", Value::from("x.csv")),
        ("ext", Value::from("csv")),
        ("dir", Value::from("data")),
        ("batch", Value::from_object(batch)),
        ("out", Value::from("out/x.txt")),
        ("outs", Value::from(vec!["out/x.txt"])),
        ("failed", Value::from(vec!["x"])),
    ]
    .into_iter()
    .collect();
    Value::from_object(ctx)
}

/// The attributes of `batch` and `pipeline` a task has (`vars` has the
/// file's `[vars]` keys).
pub(crate) fn known_attributes(object: &str) -> Option<&'static [&'static str]> {
    match object {
        "batch" => Some(&["index", "count"]),
        "pipeline" => Some(&["name", "root", "out"]),
        _ => None,
    }
}

/// The names a template may read in a task of this fan-out.
pub(crate) fn allowed_names(fanout: Fanout, usage: Use) -> Vec<&'static str> {
    let mut names = vec!["vars", "pipeline", "key", "inputs"];
    match fanout {
        Fanout::Each => names.extend(["input", "stem", "name", "ext", "dir"]),
        Fanout::Batch => names.push("batch"),
        Fanout::All => {}
    }
    if usage == Use::Action {
        names.extend(["out", "outs"]);
        // Known only to partial steps (checked with the step).
        if fanout == Fanout::All {
            names.push("failed");
        }
    }
    names
}

/// Quotes one word for `sh`, so that it stays one argument and runs no code.
pub(crate) fn sh_quote(word: &str) -> Result<String, Error> {
    shlex::try_quote(word).map(|q| q.into_owned()).map_err(|_| {
        Error::new(
            ErrorKind::InvalidOperation,
            "a value with a NUL byte cannot be passed to a shell",
        )
    })
}

/// Writes a value into a template's output: quoted for `sh` in shell
/// templates (a list becomes several words), plain elsewhere, where a list is
/// a mistake (one argument cannot hold several paths).
fn format_value(
    out: &mut minijinja::Output<'_>,
    state: &mut minijinja::State<'_, '_>,
    value: &Value,
) -> Result<(), Error> {
    let is_list = matches!(value.kind(), ValueKind::Seq | ValueKind::Iterable);
    match state.auto_escape() {
        AutoEscape::Custom(name) if name == "sh" => {
            if value.is_safe() {
                return write!(out, "{value}").map_err(Error::from);
            }
            if is_list {
                let mut first = true;
                for item in value.try_iter()? {
                    if !first {
                        out.write_str(" ").map_err(Error::from)?;
                    }
                    first = false;
                    out.write_str(&sh_quote(&item.to_string())?)
                        .map_err(Error::from)?;
                }
                Ok(())
            } else {
                out.write_str(&sh_quote(&value.to_string())?)
                    .map_err(Error::from)
            }
        }
        _ => {
            if is_list || value.kind() == ValueKind::Map {
                return Err(Error::new(
                    ErrorKind::InvalidOperation,
                    "a list cannot be written into one string here; make the whole \
                     `run` element `{{ inputs }}` (one argument per path), or use \
                     `{{ inputs | join(' ') }}` or `{{ inputs[0] }}`",
                ));
            }
            minijinja::escape_formatter(out, state, value)
        }
    }
}

/// If a `run` element is exactly `{{ NAME }}` (spaces allowed), the name.
pub(crate) fn whole_variable(text: &str) -> Option<&str> {
    let inner = text.trim().strip_prefix("{{")?.strip_suffix("}}")?.trim();
    (!inner.is_empty() && inner.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
        .then_some(inner)
}

#[cfg(test)]
mod tests {
    use super::*;
    use minijinja::context;

    fn templates(id: &str, text: &str) -> Templates {
        let mut t = Templates::new();
        t.add(id, text).unwrap();
        t
    }

    #[test]
    fn shell_values_are_quoted() {
        let id = Templates::shell_id("s");
        let t = templates(&id, "wc -l {{ input }} > {{ out }}");
        let got = t
            .render(
                &id,
                &context! { input => "a b;rm -rf ~.csv", out => "o.txt" },
            )
            .unwrap();
        assert_eq!(got, "wc -l 'a b;rm -rf ~.csv' > o.txt");
    }

    #[test]
    fn shell_lists_become_words() {
        let id = Templates::shell_id("s");
        let t = templates(&id, "cat {{ inputs }}");
        let got = t
            .render(&id, &context! { inputs => vec!["a b", "c"] })
            .unwrap();
        assert_eq!(got, "cat 'a b' c");
    }

    #[test]
    fn lists_in_plain_templates_are_errors() {
        let t = templates("x", "--in={{ inputs }}");
        let err = t
            .render("x", &context! { inputs => vec!["a"] })
            .unwrap_err();
        assert!(err.to_string().contains("a list cannot"), "{err}");
        let t = templates("y", "{{ inputs | join(',') }}");
        assert_eq!(
            t.render("y", &context! { inputs => vec!["a", "b"] })
                .unwrap(),
            "a,b"
        );
    }

    #[test]
    fn strict_undefined() {
        let t = templates("x", "{{ nope }}");
        assert!(t.render("x", &context! {}).is_err());
    }

    #[test]
    fn unknown_names_by_fanout() {
        let t = templates("x", "{{ input }} {{ batch.index }} {{ range(2) | length }}");
        assert_eq!(
            t.unknown_names("x", Fanout::Each, Use::Action),
            vec!["batch"]
        );
        assert_eq!(
            t.unknown_names("x", Fanout::Batch, Use::Action),
            vec!["input"]
        );
        let t = templates("o", "{{ out }}.txt");
        assert_eq!(t.unknown_names("o", Fanout::Each, Use::Out), vec!["out"]);
    }

    #[test]
    fn unknown_filters_and_tests_are_found_by_rendering() {
        let t = templates("x", "{{ input | uper }}");
        let u = t
            .unknown_callable("x", &stand_in_context(&Value::from(())))
            .unwrap();
        assert_eq!((u.kind, u.name.as_str()), ("filter", "uper"));
        assert!(u.known.contains(&"upper"), "{:?}", u.known);
        assert_eq!(u.range, Some(11..15));
        let t = templates("y", "{% if key is od %}{% endif %}");
        let u = t
            .unknown_callable("y", &stand_in_context(&Value::from(())))
            .unwrap();
        assert_eq!((u.kind, u.name.as_str()), ("test", "od"));
        let t = templates("z", "{{ inputs | join(' ') | upper }}");
        assert_eq!(
            t.unknown_callable("z", &stand_in_context(&Value::from(()))),
            None
        );
    }

    #[test]
    fn every_listed_builtin_exists_or_needs_a_feature() {
        let t = Templates::new();
        let missing: Vec<&str> = FILTER_NAMES
            .iter()
            .copied()
            .filter(|f| !t.has_callable("filter", f))
            .collect();
        assert_eq!(missing, ["tojson", "urlencode"]);
        assert!(TEST_NAMES.iter().all(|n| t.has_callable("test", n)));
    }

    /// Any text without NUL, leaning on what `sh` treats specially.
    fn word() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        prop_oneof![
            "[^\\x00]{0,24}",
            "[ '\"\\\\$`;&|<>(){}*?!~#=%\n\t\r-]{0,16}",
            "[a-z]{0,4}[\\x01-\\x1f\\x7f\u{80}-\u{10ffff}]{0,4}",
        ]
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(160))]

        /// What runner hands to `sh -c`: a rendered `shell` template. Every
        /// value, alone or in a list, comes back from `sh` byte for byte as
        /// one argument each.
        #[test]
        fn shell_quoting_survives_sh(words in proptest::collection::vec(word(), 1..4)) {
            let id = Templates::shell_id("q");
            let t = templates(&id, "printf '%s\\0' {{ one }} {{ many }}");
            let script = t
                .render(&id, &context! { one => &words[0], many => words[1..].to_vec() })
                .unwrap();
            let out = std::process::Command::new("sh")
                .arg("-c")
                .arg(&script)
                .output()
                .unwrap();
            let want: Vec<u8> = words
                .iter()
                .flat_map(|w| w.bytes().chain([0]))
                .collect();
            proptest::prop_assert!(out.status.success(), "{script:?}");
            proptest::prop_assert_eq!(out.stdout, want, "script {:?}", script);
        }
    }

    #[test]
    fn nul_cannot_be_quoted() {
        assert!(sh_quote("a\0b").is_err());
        let id = Templates::shell_id("s");
        let t = templates(&id, "echo {{ x }}");
        let err = t.render(&id, &context! { x => "a\0b" }).unwrap_err();
        assert!(err.to_string().contains("NUL"), "{err}");
    }

    #[test]
    fn whole_variable_detection() {
        assert_eq!(whole_variable("{{ inputs }}"), Some("inputs"));
        assert_eq!(whole_variable("{{inputs}}"), Some("inputs"));
        assert_eq!(whole_variable("-{{ inputs }}"), None);
        assert_eq!(whole_variable("{{ inputs[0] }}"), None);
    }
}
