//! The debugger's command language: one command per line, parsed here
//! without looking at the machine (symbols and harts are checked when the
//! command runs). Every malformed line is a [`ParseError`] with a one-line
//! message, never a panic: [`parse`] takes any text.

use std::fmt;

/// An address as typed: a number, or a symbol with an optional offset
/// (`main`, `main+0x10`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Location {
    Address(u64),
    Symbol { name: String, offset: i64 },
}

/// Trap causes as `break trap` takes them: an exception cause, or an
/// interrupt (the mcause value without its top bit).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TrapCause {
    Exception(u64),
    Interrupt(u64),
}

/// What a breakpoint stops on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BreakSpec {
    /// Before the instruction at an address runs, on any hart.
    At(Location),
    /// When a trap is taken (any, or of one cause), on any hart or one.
    Trap {
        cause: Option<TrapCause>,
        hart: Option<usize>,
    },
    /// When a U-mode `ecall` traps (any, or with system call number `nr` in a7).
    Ecall { nr: Option<u64>, hart: Option<usize> },
    /// When the master takes a request (from any hart, or from `hart`).
    Serve { hart: Option<usize> },
    /// When the master answers a request (from any hart, or from `hart`).
    Answer { hart: Option<usize> },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// An empty line or a comment.
    Nothing,
    Step(u64),
    Next,
    Continue,
    Hart(usize),
    Break(BreakSpec),
    Watch {
        at: Location,
        len: u64,
    },
    /// Delete one breakpoint or watchpoint, or all of them.
    Delete(Option<u64>),
    Breaks,
    Regs,
    Csr(String),
    Examine {
        at: Location,
        len: u64,
    },
    Disasm {
        at: Option<Location>,
        count: u64,
    },
    Backtrace,
    Harts,
    Route(Option<usize>),
    Help,
    Quit,
}

/// Why a line is not a command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError(pub String);

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ParseError {}

/// The longest `x` or `disasm` asked for at once.
pub const MAX_LEN: u64 = 1 << 16;

/// A number: decimal, or hex with `0x`.
pub fn parse_number(text: &str) -> Option<u64> {
    let t = text.trim();
    if let Some(hex) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        u64::from_str_radix(&hex.replace('_', ""), 16).ok()
    } else {
        t.replace('_', "").parse().ok()
    }
}

fn err<T>(message: impl Into<String>) -> Result<T, ParseError> {
    Err(ParseError(message.into()))
}

/// Parses a location: a number, or a symbol with an optional `+N` or `-N`.
pub fn parse_location(text: &str) -> Result<Location, ParseError> {
    let t = text.trim();
    if t.is_empty() {
        return err("expected an address or a symbol");
    }
    if t.starts_with(|c: char| c.is_ascii_digit()) {
        return parse_number(t)
            .map(Location::Address)
            .ok_or_else(|| ParseError(format!("bad address `{t}`")));
    }
    let (name, offset) = match t.find(['+', '-']).filter(|&i| i > 0) {
        Some(i) => {
            let n = parse_number(&t[i + 1..]).ok_or_else(|| ParseError(format!("bad offset in `{t}`")))?;
            let n = i64::try_from(n).map_err(|_| ParseError(format!("offset too large in `{t}`")))?;
            (&t[..i], if &t[i..i + 1] == "-" { -n } else { n })
        }
        None => (t, 0),
    };
    let valid = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '$' | ':'));
    if !valid {
        return err(format!("bad symbol `{name}`"));
    }
    Ok(Location::Symbol {
        name: name.to_string(),
        offset,
    })
}

/// Trap cause names `break trap` understands, with their cause.
pub const CAUSE_NAMES: &[(&str, TrapCause)] = &[
    ("misaligned-fetch", TrapCause::Exception(0)),
    ("fetch-access", TrapCause::Exception(1)),
    ("illegal", TrapCause::Exception(2)),
    ("breakpoint", TrapCause::Exception(3)),
    ("misaligned-load", TrapCause::Exception(4)),
    ("load-access", TrapCause::Exception(5)),
    ("misaligned-store", TrapCause::Exception(6)),
    ("store-access", TrapCause::Exception(7)),
    ("ecall-u", TrapCause::Exception(8)),
    ("ecall-s", TrapCause::Exception(9)),
    ("ecall-m", TrapCause::Exception(11)),
    ("fetch-page", TrapCause::Exception(12)),
    ("load-page", TrapCause::Exception(13)),
    ("store-page", TrapCause::Exception(15)),
    ("ssi", TrapCause::Interrupt(1)),
    ("msi", TrapCause::Interrupt(3)),
    ("sti", TrapCause::Interrupt(5)),
    ("mti", TrapCause::Interrupt(7)),
    ("sei", TrapCause::Interrupt(9)),
    ("mei", TrapCause::Interrupt(11)),
];

fn parse_cause(text: &str) -> Result<TrapCause, ParseError> {
    let lower = text.to_ascii_lowercase();
    if let Some((_, c)) = CAUSE_NAMES.iter().find(|(n, _)| *n == lower) {
        return Ok(*c);
    }
    let (interrupt, digits) = match lower.strip_prefix("irq") {
        Some(rest) => (true, rest),
        None => (false, lower.as_str()),
    };
    match parse_number(digits) {
        Some(n) if n < 64 && interrupt => Ok(TrapCause::Interrupt(n)),
        Some(n) if n < 64 => Ok(TrapCause::Exception(n)),
        _ => err(format!(
            "bad trap cause `{text}`: a number (0-63), irqN, or a name such as illegal, ecall-u, load-page, mti"
        )),
    }
}

fn parse_hart(text: Option<&&str>) -> Result<usize, ParseError> {
    let t = text.ok_or_else(|| ParseError("expected a hart number after `hart`".into()))?;
    parse_number(t)
        .and_then(|n| usize::try_from(n).ok())
        .ok_or_else(|| ParseError(format!("bad hart number `{t}`")))
}

/// Splits off a trailing `hart K`.
fn hart_suffix<'a>(words: &'a [&'a str]) -> Result<(&'a [&'a str], Option<usize>), ParseError> {
    match words.iter().position(|w| *w == "hart") {
        Some(i) if i + 2 == words.len() => Ok((&words[..i], Some(parse_hart(words.get(i + 1))?))),
        Some(_) => err("`hart K` must come last, once"),
        None => Ok((words, None)),
    }
}

fn parse_count(text: &str, what: &str) -> Result<u64, ParseError> {
    match parse_number(text) {
        Some(n) if n > 0 && n <= MAX_LEN => Ok(n),
        _ => err(format!("bad {what} `{text}`: expected 1 to {MAX_LEN}")),
    }
}

fn no_more(words: &[&str], command: &str) -> Result<(), ParseError> {
    match words.first() {
        Some(w) => err(format!("`{command}` takes no argument `{w}`")),
        None => Ok(()),
    }
}

fn parse_break(words: &[&str]) -> Result<BreakSpec, ParseError> {
    let Some((&kind, rest)) = words.split_first() else {
        return err("break what? an address, a symbol, trap, ecall, serve or answer");
    };
    match kind {
        "trap" => {
            let (rest, hart) = hart_suffix(rest)?;
            let cause = match rest {
                [] => None,
                [c] => Some(parse_cause(c)?),
                _ => return err("usage: break trap [CAUSE] [hart K]"),
            };
            Ok(BreakSpec::Trap { cause, hart })
        }
        "ecall" => {
            let (rest, hart) = hart_suffix(rest)?;
            let nr = match rest {
                [] => None,
                [n] => Some(parse_number(n).ok_or_else(|| ParseError(format!("bad system call number `{n}`")))?),
                _ => return err("usage: break ecall [NR] [hart K]"),
            };
            Ok(BreakSpec::Ecall { nr, hart })
        }
        "serve" | "answer" => {
            let (rest, hart) = hart_suffix(rest)?;
            no_more(rest, kind)?;
            Ok(if kind == "serve" {
                BreakSpec::Serve { hart }
            } else {
                BreakSpec::Answer { hart }
            })
        }
        _ => {
            no_more(rest, "break ADDR")?;
            Ok(BreakSpec::At(parse_location(kind)?))
        }
    }
}

/// Parses one line.
pub fn parse(line: &str) -> Result<Command, ParseError> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return Ok(Command::Nothing);
    }
    let words: Vec<&str> = line.split_whitespace().collect();
    let (&name, args) = words.split_first().expect("a non-empty line has a word");
    let one = |what: &str| -> Result<Option<&str>, ParseError> {
        match args {
            [] => Ok(None),
            [a] => Ok(Some(a)),
            _ => err(format!("`{name}` takes one {what}")),
        }
    };
    Ok(match name {
        "step" | "s" | "stepi" | "si" => Command::Step(match one("count")? {
            Some(n) => parse_count(n, "count")?,
            None => 1,
        }),
        "next" | "n" | "nexti" | "ni" => {
            no_more(args, name)?;
            Command::Next
        }
        "continue" | "c" | "cont" => {
            no_more(args, name)?;
            Command::Continue
        }
        "hart" => match args {
            [k] => Command::Hart(parse_hart(Some(k))?),
            _ => return err("usage: hart K"),
        },
        "break" | "b" => Command::Break(parse_break(args)?),
        "watch" => match args {
            [a] => Command::Watch {
                at: parse_location(a)?,
                len: 8,
            },
            [a, n] => Command::Watch {
                at: parse_location(a)?,
                len: parse_count(n, "length")?,
            },
            _ => return err("usage: watch ADDR [LEN]"),
        },
        "delete" | "d" => Command::Delete(match one("breakpoint number")? {
            Some(n) => Some(parse_number(n).ok_or_else(|| ParseError(format!("bad breakpoint number `{n}`")))?),
            None => None,
        }),
        "breaks" | "breakpoints" => {
            no_more(args, name)?;
            Command::Breaks
        }
        "info" => match args {
            ["registers" | "regs"] => Command::Regs,
            ["breakpoints" | "break" | "breaks"] => Command::Breaks,
            ["harts" | "threads"] => Command::Harts,
            _ => return err("usage: info registers|breakpoints|harts"),
        },
        "regs" | "registers" => {
            no_more(args, name)?;
            Command::Regs
        }
        "csr" => match args {
            [n] => Command::Csr(n.to_string()),
            _ => return err("usage: csr NAME (or number)"),
        },
        "x" => match args {
            [a] => Command::Examine {
                at: parse_location(a)?,
                len: 16,
            },
            [a, n] => Command::Examine {
                at: parse_location(a)?,
                len: parse_count(n, "length")?,
            },
            _ => return err("usage: x ADDR [LEN]"),
        },
        "disasm" | "disassemble" | "dis" => match args {
            [] => Command::Disasm { at: None, count: 10 },
            [a] => Command::Disasm {
                at: Some(parse_location(a)?),
                count: 10,
            },
            [a, n] => Command::Disasm {
                at: Some(parse_location(a)?),
                count: parse_count(n, "count")?,
            },
            _ => return err("usage: disasm [ADDR] [N]"),
        },
        "bt" | "backtrace" | "where" => {
            no_more(args, name)?;
            Command::Backtrace
        }
        "harts" | "threads" => {
            no_more(args, name)?;
            Command::Harts
        }
        "route" => Command::Route(match one("hart number")? {
            Some(k) => Some(parse_hart(Some(&k))?),
            None => None,
        }),
        "help" | "h" | "?" => Command::Help,
        "quit" | "q" | "exit" => {
            no_more(args, name)?;
            Command::Quit
        }
        _ => return err(format!("unknown command `{name}` (try `help`)")),
    })
}

/// The `help` text.
pub const HELP: &str = "\
commands (ADDR is a number, 0x... or a symbol with an optional +offset):
  step [N]                      run the selected hart N instructions (traps count as one)
  next                          step over a call on the selected hart
  continue                      run until a breakpoint, a watchpoint or the end
  hart K                        select hart K
  break ADDR|SYMBOL             stop before the instruction there, on any hart
  break trap [CAUSE] [hart K]   stop when a trap is taken (CAUSE: number, irqN or name)
  break ecall [NR] [hart K]     stop when a U-mode ecall traps (system call NR in a7)
  break serve [hart K]          stop when the master takes a request (from hart K)
  break answer [hart K]         stop when the master answers a request (from hart K)
  watch ADDR [LEN]              stop after a store to [ADDR, ADDR+LEN) (default 8 bytes)
  delete [ID]                   delete a breakpoint or watchpoint, or all
  breaks                        list breakpoints and watchpoints
  regs                          the selected hart's registers, pc and privilege
  csr NAME                      a CSR of the selected hart
  x ADDR [LEN]                  memory, as the selected hart sees it (default 16 bytes)
  disasm [ADDR] [N]             N instructions from ADDR (default: the pc, 10)
  bt                            backtrace by frame pointers
  harts                         every hart's pc, privilege, state and request
  route [K]                     the route of hart K's latest request to the master
  quit                          end the run
";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_parse() {
        assert_eq!(parse("step"), Ok(Command::Step(1)));
        assert_eq!(parse("  step 0x10 "), Ok(Command::Step(16)));
        assert_eq!(
            parse("break ecall 64 hart 3"),
            Ok(Command::Break(BreakSpec::Ecall {
                nr: Some(64),
                hart: Some(3)
            }))
        );
        assert_eq!(
            parse("break trap illegal"),
            Ok(Command::Break(BreakSpec::Trap {
                cause: Some(TrapCause::Exception(2)),
                hart: None
            }))
        );
        assert_eq!(
            parse("b main+8"),
            Ok(Command::Break(BreakSpec::At(Location::Symbol {
                name: "main".into(),
                offset: 8
            })))
        );
        assert_eq!(parse("# comment"), Ok(Command::Nothing));
    }

    #[test]
    fn bad_lines_are_errors() {
        for line in [
            "frobnicate",
            "step 0",
            "step -1",
            "hart",
            "hart x",
            "break",
            "break trap 99",
            "x 0xzz",
            "x main 0",
            "watch",
            "break ecall hart",
            "break serve hart 1 2",
            "b a&b",
            "disasm 1 2 3",
        ] {
            assert!(parse(line).is_err(), "{line} parsed");
        }
    }
}
