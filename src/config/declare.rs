//! The machinery behind the one declaration per setting: [`settings!`] turns each declaration into a flag of
//! [`ServeArgs`](super::ServeArgs), a key of the TOML file, an environment variable, a default and a typed field
//! of [`Values`](super::Values); [`Layers`] holds the sources and decides, in one place, which one wins.

use std::fmt;
use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};

use serde::de::{self, Deserializer, Visitor};

use super::ConfigError;
use super::catalog::{FileSettings, ServeArgs};
use super::value::SettingValue;

/// The environment variable naming the TOML file (the file itself is not a setting of the file).
pub const CONFIG_ENV: &str = "ALIPAY_GATEWAY_CONFIG";

/// The names and traits of one declared setting, as the help, the error messages and the tests see them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Declared {
    /// The setting's name: the TOML key, and the flag with `-` for `_`.
    pub name: &'static str,
    /// Its environment variable.
    pub env: &'static str,
    /// The placeholder shown in `--help`.
    pub value_name: &'static str,
    /// The default, written as a value would be; `None`: unset, or decided by the validation step.
    pub default: Option<&'static str>,
    /// Its value is never printed (`Debug` of the flags shows `[redacted]`).
    pub secret: bool,
    /// A flag that may be given without a value, meaning `true` (`--no-migrate`).
    pub switch: bool,
}

impl Declared {
    /// A plain setting; [`Declared::secret`] and [`Declared::switch`] add the modifiers a declaration names.
    pub const fn new(
        name: &'static str,
        env: &'static str,
        value_name: &'static str,
        default: Option<&'static str>,
    ) -> Self {
        Self {
            name,
            env,
            value_name,
            default,
            secret: false,
            switch: false,
        }
    }

    /// Marks the value as secret.
    pub const fn secret(self) -> Self {
        Self {
            secret: true,
            ..self
        }
    }

    /// Marks the flag as usable without a value.
    pub const fn switch(self) -> Self {
        Self {
            switch: true,
            ..self
        }
    }

    /// The command-line flag, `--` and the name with `-` for `_`.
    pub fn flag(&self) -> String {
        format!("--{}", self.name.replace('_', "-"))
    }

    /// The `--help` line: the declaration's doc comment, its environment variable and its default.
    pub fn help(&self, doc: &[&str]) -> String {
        let text: Vec<&str> = doc
            .iter()
            .map(|line| line.trim())
            .filter(|line| !line.is_empty())
            .collect();
        // As clap does with a one-paragraph doc comment: no final period before the annotations.
        let text = text.join(" ");
        let mut help = format!(
            "{} [env: {}]",
            text.strip_suffix('.').unwrap_or(&text),
            self.env
        );
        if let Some(default) = self.default {
            help.push_str(&format!(" [default: {default}]"));
        }
        help
    }

    /// How many values the flag takes: a switch may stand alone.
    pub fn num_args(&self) -> RangeInclusive<usize> {
        if self.switch { 0..=1 } else { 1..=1 }
    }

    /// The value of a switch given alone.
    pub fn missing_value(&self) -> Option<&'static str> {
        self.switch.then_some("true")
    }
}

/// Where a setting's value came from, named in error messages so the operator knows what to fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// The command line (the setting's flag).
    Flag(&'static str),
    /// The named environment variable.
    Env(&'static str),
    /// The TOML file.
    File(PathBuf),
    /// The declared default.
    Default,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Flag(name) => write!(f, "--{}", name.replace('_', "-")),
            Source::Env(var) => f.write_str(var),
            Source::File(path) => write!(f, "{}", path.display()),
            Source::Default => f.write_str("the default"),
        }
    }
}

/// The environment as the resolution reads it: the process environment in production, a map in tests (so the
/// generated tests need no process-global `set_var`).
pub type Environment<'a> = &'a dyn Fn(&str) -> Option<String>;

/// The three sources above the defaults, in precedence order.
pub struct Layers<'a> {
    /// Flags from the command line.
    pub flags: &'a ServeArgs,
    /// Environment variables.
    pub env: Environment<'a>,
    /// The TOML file, when one is given.
    pub file: Option<(PathBuf, FileSettings)>,
}

impl fmt::Debug for Layers<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Layers")
            .field("flags", self.flags)
            .field("file", &self.file)
            .finish_non_exhaustive()
    }
}

impl<'a> Layers<'a> {
    /// Reads the file named by `--config` or `ALIPAY_GATEWAY_CONFIG`, if any.
    pub fn read(flags: &'a ServeArgs, env: Environment<'a>) -> Result<Self, ConfigError> {
        let path = flags
            .config
            .clone()
            .or_else(|| env(CONFIG_ENV).filter(|v| !v.is_empty()).map(PathBuf::from));
        let file = match path {
            Some(path) => {
                let settings = read_file(&path)?;
                Some((path, settings))
            }
            None => None,
        };
        Ok(Self { flags, env, file })
    }

    /// The first source that sets the setting: flag, then environment (an empty variable counts as unset, as
    /// with clap), then file. This is the whole precedence rule.
    pub fn first_set(
        &self,
        declared: &Declared,
        flag: Option<&str>,
        file: impl Fn(&FileSettings) -> Option<&FileValue>,
    ) -> Option<(String, Source)> {
        if let Some(text) = flag {
            return Some((text.to_owned(), Source::Flag(declared.name)));
        }
        if let Some(text) = (self.env)(declared.env).filter(|text| !text.is_empty()) {
            return Some((text, Source::Env(declared.env)));
        }
        let (path, settings) = self.file.as_ref()?;
        file(settings).map(|value| (value.0.clone(), Source::File(path.clone())))
    }
}

/// Parses the winning text, or reports the setting, the problem and where the value came from.
pub fn parse_from<T: SettingValue>(
    declared: &Declared,
    (text, source): (String, Source),
) -> Result<T, ConfigError> {
    T::parse(&text).map_err(|message| ConfigError::Invalid {
        setting: declared.name,
        message: format!("{message} (from {source})"),
    })
}

fn read_file(path: &Path) -> Result<FileSettings, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::ReadFile {
        path: path.to_owned(),
        source,
    })?;
    toml::from_str(&text).map_err(|e| ConfigError::ParseFile {
        path: path.to_owned(),
        message: e.to_string(),
    })
}

/// One value of the TOML file as text: a string, or an integer or boolean written bare (`key_version = 2`,
/// `no_migrate = true`), so [`SettingValue::parse`] reads every source the same way.
#[derive(Clone)]
pub struct FileValue(String);

/// The file may hold the token key: its values are not printed.
impl fmt::Debug for FileValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("FileValue(..)")
    }
}

impl<'de> serde::Deserialize<'de> for FileValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Text;
        impl Visitor<'_> for Text {
            type Value = FileValue;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string, an integer or a boolean")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<FileValue, E> {
                Ok(FileValue(v.to_owned()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<FileValue, E> {
                Ok(FileValue(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<FileValue, E> {
                Ok(FileValue(v.to_string()))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<FileValue, E> {
                Ok(FileValue(v.to_string()))
            }
        }
        deserializer.deserialize_any(Text)
    }
}

/// Declares the settings of `serve`; see the [module documentation](super) for the syntax and an example.
///
/// Each declaration is its doc comment (the `--help` text), `name: Type`, an optional `= "default"` (written
/// as a value would be, parsed like one; without it the type must be an `Option`), `env "VAR"`,
/// `value "PLACEHOLDER"` and optional modifiers `secret` and `switch`.
macro_rules! settings {
    ($(
        $(#[doc = $doc:literal])+
        $name:ident: $ty:ty $(= $default:expr)?, env $env:literal, value $value:literal $(, $modifier:ident)*;
    )+) => {
        /// Each setting's declaration, by name.
        struct Declarations {
            $($name: Declared,)+
        }

        const DECLARED: Declarations = Declarations {
            $($name: settings!(@declared $name, $env, $value $(, $default)?; $($modifier)*),)+
        };

        /// Every declared setting, in declaration order.
        pub const SETTINGS: &[Declared] = &[$(DECLARED.$name),+];

        /// Flags of `serve` (environment variables, the file and defaults are layered under them by
        /// [`Layers`]). A value is kept as given; [`Values::resolve`] parses it.
        #[derive(Clone, Default, clap::Args)]
        pub struct ServeArgs {
            /// The TOML configuration file (read from `ALIPAY_GATEWAY_CONFIG` when the flag is absent).
            #[arg(long, value_name = "FILE", help = format!(
                "TOML configuration file (settings named like the flags, with `_`) [env: {}]", CONFIG_ENV
            ))]
            pub config: Option<std::path::PathBuf>,
            $(
                #[doc = concat!("`--", stringify!($name), "`, as given.")]
                #[arg(
                    long,
                    value_name = $value,
                    help = DECLARED.$name.help(&[$($doc),+]),
                    num_args = DECLARED.$name.num_args(),
                    default_missing_value = DECLARED.$name.missing_value(),
                )]
                pub $name: Option<String>,
            )+
        }

        /// Secret flags print as `[redacted]`.
        impl std::fmt::Debug for ServeArgs {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                let mut out = f.debug_struct("ServeArgs");
                out.field("config", &self.config);
                $(
                    match &self.$name {
                        Some(_) if DECLARED.$name.secret => out.field(stringify!($name), &"[redacted]"),
                        value => out.field(stringify!($name), value),
                    };
                )+
                out.finish()
            }
        }

        /// The TOML file: the declared settings, unknown keys rejected (a typo must not be ignored).
        #[derive(Debug, Default, serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct FileSettings {
            $($name: Option<FileValue>,)+
        }

        /// Every declared setting, typed, from the source that won (or its default). Secrets print redacted.
        #[derive(Debug, Clone, PartialEq)]
        pub struct Values {
            $($(#[doc = $doc])+ pub $name: $ty,)+
        }

        impl Values {
            /// Takes each setting from the first source that sets it and parses it once.
            pub fn resolve(layers: &Layers<'_>) -> Result<Self, ConfigError> {
                Ok(Self {$(
                    $name: {
                        let declared = DECLARED.$name;
                        let found = layers.first_set(
                            &declared,
                            layers.flags.$name.as_deref(),
                            |file| file.$name.as_ref(),
                        );
                        settings!(@pick declared, found $(, $default)?)?
                    },
                )+})
            }

            /// Whether `name` holds what `text` parses to (`None`: what it holds when nothing sets it).
            #[cfg(test)]
            pub fn holds(&self, name: &str, text: Option<&str>) -> bool {
                match name {
                    $(stringify!($name) => {
                        let expected: Result<$ty, String> = match text {
                            Some(text) => $crate::config::value::SettingValue::parse(text),
                            None => settings!(@unset $($default)?),
                        };
                        expected.is_ok_and(|expected| expected == self.$name)
                    })+
                    _ => false,
                }
            }

            /// Distinct valid spellings of the named setting's type.
            #[cfg(test)]
            pub fn examples(name: &str) -> &'static [&'static str] {
                match name {
                    $(stringify!($name) => <$ty as $crate::config::value::SettingValue>::examples(),)+
                    _ => &[],
                }
            }
        }
    };
    (@declared $name:ident, $env:literal, $value:literal; $($modifier:ident)*) => {
        Declared::new(stringify!($name), $env, $value, None)$(.$modifier())*
    };
    (@declared $name:ident, $env:literal, $value:literal, $default:expr; $($modifier:ident)*) => {
        Declared::new(stringify!($name), $env, $value, Some($default))$(.$modifier())*
    };
    (@pick $declared:ident, $found:ident) => {
        match $found {
            Some(found) => parse_from(&$declared, found),
            None => Ok(None),
        }
    };
    (@pick $declared:ident, $found:ident, $default:expr) => {
        parse_from(&$declared, $found.unwrap_or_else(|| ($default.to_owned(), Source::Default)))
    };
    (@unset) => { Ok(None) };
    (@unset $default:expr) => { $crate::config::value::SettingValue::parse($default) };
}

pub(super) use settings;
