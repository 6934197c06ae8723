//! Colour for a terminal, as Ansible's: ok green, changed yellow, skipping cyan, failures
//! red, warnings purple, the recap's counters and hosts by their worst outcome, diff lines
//! green/red. Applied to finished text lines in one place (the renderers stay plain, so the
//! log file and pipes never get escape codes); only when the settings say so (a terminal,
//! no NO_COLOR / --no-color / nocolor; or force_color).

const RESET: &str = "\x1b[0m";
const GREEN: &str = "\x1b[0;32m";
const YELLOW: &str = "\x1b[0;33m";
const CYAN: &str = "\x1b[0;36m";
const RED: &str = "\x1b[0;31m";
const BRIGHT_RED: &str = "\x1b[1;31m";
const PURPLE: &str = "\x1b[1;35m";
const MAGENTA: &str = "\x1b[0;35m";

fn wrap(color: &str, text: &str) -> String {
    format!("{color}{text}{RESET}")
}

/// Colour every line of rendered text.
pub fn paint(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 64);
    for piece in text.split_inclusive('\n') {
        let (line, nl) = match piece.strip_suffix('\n') {
            Some(l) => (l, "\n"),
            None => (piece, ""),
        };
        out.push_str(&paint_line(line));
        out.push_str(nl);
    }
    out
}

fn paint_line(line: &str) -> String {
    if line.is_empty() {
        return String::new();
    }
    let starts = |p: &str| line.starts_with(p);
    if starts("ok: ") {
        wrap(GREEN, line)
    } else if starts("changed: ") {
        wrap(YELLOW, line)
    } else if starts("skipping: ") || starts("...ignoring") {
        wrap(CYAN, line)
    } else if line.contains(": UNREACHABLE! =>") {
        wrap(BRIGHT_RED, line)
    } else if starts("fatal: ") || starts("[ERROR]") || starts("ERROR") {
        wrap(RED, line)
    } else if starts("[WARNING]") || starts("warning: ") {
        wrap(PURPLE, line)
    } else if (starts("+") && !starts("+++")) || starts("after") {
        wrap(GREEN, line)
    } else if starts("-") && !starts("---") {
        wrap(RED, line)
    } else if starts("@@") {
        wrap(CYAN, line)
    } else if line.contains(" : ok=") {
        recap_line(line)
    } else {
        line.to_string()
    }
}

/// `host : ok=1 changed=0 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0`: the host
/// in its worst outcome's colour, each non-zero counter in its own.
fn recap_line(line: &str) -> String {
    let Some((host, counters)) = line.split_once(" : ") else {
        return line.to_string();
    };
    let count = |name: &str| -> u64 {
        counters
            .split_whitespace()
            .find_map(|w| w.strip_prefix(&format!("{name}=")))
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    };
    let host_color = if count("unreachable") > 0 || count("failed") > 0 {
        RED
    } else if count("changed") > 0 {
        YELLOW
    } else {
        GREEN
    };
    let mut out = wrap(host_color, host);
    out.push_str(" : ");
    // keep the padding: colour the word=number, leave the spaces after it
    let mut rest = counters;
    while !rest.is_empty() {
        let word_end = rest.find(' ').unwrap_or(rest.len());
        let (word, tail) = rest.split_at(word_end);
        let spaces = tail.len() - tail.trim_start().len();
        let color = match word.split_once('=') {
            Some((name, n)) if n != "0" => match name {
                "ok" => Some(GREEN),
                "changed" => Some(YELLOW),
                "unreachable" => Some(BRIGHT_RED),
                "failed" => Some(RED),
                "skipped" => Some(CYAN),
                "rescued" => Some(MAGENTA),
                "ignored" => Some(CYAN),
                _ => None,
            },
            _ => None,
        };
        match color {
            Some(c) => out.push_str(&wrap(c, word)),
            None => out.push_str(word),
        }
        out.push_str(&tail[..spaces]);
        rest = &tail[spaces..];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::paint;

    #[test]
    fn results_are_coloured_by_outcome() {
        assert_eq!(paint("ok: [h1]\n"), "\x1b[0;32mok: [h1]\x1b[0m\n");
        assert!(paint("changed: [h1]").starts_with("\x1b[0;33m"));
        assert!(paint("fatal: [h1]: FAILED! => {}").starts_with("\x1b[0;31m"));
        assert!(paint("fatal: [h1]: UNREACHABLE! => {}").starts_with("\x1b[1;31m"));
        assert_eq!(paint("TASK [x] ***"), "TASK [x] ***");
    }

    #[test]
    fn recap_keeps_its_columns_and_colours_what_is_not_zero() {
        let line = "h1                         : ok=3    changed=1    unreachable=0    failed=0    skipped=0    rescued=0    ignored=0";
        let painted = paint(line);
        let plain = painted
            .replace("\x1b[0;32m", "")
            .replace("\x1b[0;33m", "")
            .replace("\x1b[0m", "");
        assert_eq!(plain, line);
        assert!(painted.starts_with("\x1b[0;33mh1"), "{painted:?}");
        assert!(painted.contains("\x1b[0;32mok=3\x1b[0m    "));
        assert!(painted.contains(" unreachable=0 "));
    }
}
