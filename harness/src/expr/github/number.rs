//! Numbers as GitHub's expressions read and write them, which is JavaScript's way: `Number()`
//! for text, and `toString()` after rounding to 15 decimals for output.

/// `Number(text)` in JavaScript: surrounding white space ignored, empty text is 0, decimal,
/// `0x`/`0o`/`0b` and `Infinity` forms; anything else is `NaN`.
pub(crate) fn parse(text: &str) -> f64 {
    let t = text.trim_matches(|c: char| c.is_whitespace() || c == '\u{feff}');
    if t.is_empty() {
        return 0.0;
    }
    let radix = match t.get(..2) {
        Some("0x" | "0X") => Some(16),
        Some("0o" | "0O") => Some(8),
        Some("0b" | "0B") => Some(2),
        _ => None,
    };
    if let Some(radix) = radix {
        let digits = &t[2..];
        if digits.is_empty() {
            return f64::NAN;
        }
        let mut value = 0.0f64;
        for c in digits.chars() {
            match c.to_digit(radix) {
                Some(d) => value = value * f64::from(radix) + f64::from(d),
                None => return f64::NAN,
            }
        }
        return value;
    }
    let (sign, unsigned) = match t.as_bytes()[0] {
        b'-' => (-1.0, &t[1..]),
        b'+' => (1.0, &t[1..]),
        _ => (1.0, t),
    };
    if unsigned == "Infinity" {
        return sign * f64::INFINITY;
    }
    if !is_decimal(unsigned) {
        return f64::NAN;
    }
    unsigned.parse::<f64>().map_or(f64::NAN, |v| sign * v)
}

/// `digits [. digits] [e [+-] digits]` or `. digits [e ...]`, as JavaScript's grammar has it.
fn is_decimal(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    let int_digits = b.iter().take_while(|c| c.is_ascii_digit()).count();
    i += int_digits;
    let mut frac_digits = 0;
    if b.get(i) == Some(&b'.') {
        i += 1;
        frac_digits = b[i..].iter().take_while(|c| c.is_ascii_digit()).count();
        i += frac_digits;
    }
    if int_digits + frac_digits == 0 {
        return false;
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let exp_digits = b[i..].iter().take_while(|c| c.is_ascii_digit()).count();
        if exp_digits == 0 {
            return false;
        }
        i += exp_digits;
    }
    i == b.len()
}

/// A number as text, as GitHub's runner writes it (.NET's `G15`): at most 15 significant
/// digits, positional from 1e-4 up to 1e15 (`1.5`, `120`, `0.84551240822557`), in exponent
/// form beyond (`1.23456789012346E+19`, `1E-07`); `NaN`, `Infinity`, `-Infinity`.
pub(crate) fn to_text(n: f64) -> String {
    if n == 0.0 {
        return "0".into();
    }
    if !n.is_finite() {
        return js_string(n);
    }
    let sign = if n < 0.0 { "-" } else { "" };
    // 15 significant digits, correctly rounded: `d.dddddddddddddde±x`.
    let sci = format!("{:.14e}", n.abs());
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let digits = digits.trim_end_matches('0');
    let digits = if digits.is_empty() { "0" } else { digits };
    if !(-4..15).contains(&exp) {
        let (first, rest) = digits.split_at(1);
        let dot = if rest.is_empty() { "" } else { "." };
        let esign = if exp < 0 { '-' } else { '+' };
        return format!("{sign}{first}{dot}{rest}E{esign}{:02}", exp.abs());
    }
    let point = exp + 1;
    let k = digits.len() as i32;
    let body = if point <= 0 {
        format!("0.{}{digits}", "0".repeat((-point) as usize))
    } else if point >= k {
        format!("{digits}{}", "0".repeat((point - k) as usize))
    } else {
        format!(
            "{}.{}",
            &digits[..point as usize],
            &digits[point as usize..]
        )
    };
    format!("{sign}{body}")
}

/// JavaScript's `Number.prototype.toString()`: the shortest digits that read back as the same
/// number, in positional form from 1e-6 up to 1e21, in exponent form beyond.
pub(crate) fn js_string(n: f64) -> String {
    if n.is_nan() {
        return "NaN".into();
    }
    if n == 0.0 {
        return "0".into();
    }
    if n.is_infinite() {
        return if n > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    if n < 0.0 {
        return format!("-{}", js_string(-n));
    }
    // `{:e}` writes the shortest round-trip digits: `d.ddde[-]x`.
    let sci = format!("{n:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let k = digits.len() as i32;
    let point = exp.parse::<i32>().unwrap_or(0) + 1;
    if k <= point && point <= 21 {
        let mut s = digits;
        s.extend(std::iter::repeat_n('0', (point - k) as usize));
        s
    } else if 0 < point && point <= 21 {
        format!(
            "{}.{}",
            &digits[..point as usize],
            &digits[point as usize..]
        )
    } else if -6 < point && point <= 0 {
        format!("0.{}{digits}", "0".repeat((-point) as usize))
    } else {
        let e = point - 1;
        let sign = if e < 0 { '-' } else { '+' };
        let (first, rest) = digits.split_at(1);
        if rest.is_empty() {
            format!("{first}e{sign}{}", e.abs())
        } else {
            format!("{first}.{rest}e{sign}{}", e.abs())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_as_javascript_does() {
        assert_eq!(parse(" 0xff "), 255.0);
        assert_eq!(parse("0o10"), 8.0);
        assert_eq!(parse(" -Infinity "), f64::NEG_INFINITY);
        assert_eq!(parse(""), 0.0);
        assert_eq!(parse(".5"), 0.5);
        assert_eq!(parse("1."), 1.0);
        assert_eq!(parse("1E+1"), 10.0);
        for nan in [
            "inf",
            "nan",
            "abc",
            "-0xff",
            "1_0",
            "1e",
            "+",
            ".",
            "0x",
            "Infinity1",
        ] {
            assert!(parse(nan).is_nan(), "{nan}");
        }
    }

    #[test]
    fn writes_as_githubs_runner_does() {
        assert_eq!(to_text(0.845_512_408_225_570_1), "0.84551240822557");
        assert_eq!(to_text(0.1 + 0.2), "0.3");
        assert_eq!(to_text(-2.0), "-2");
        assert_eq!(to_text(123_456.789), "123456.789");
        assert_eq!(to_text(1e21), "1E+21");
        assert_eq!(to_text(1.5e300), "1.5E+300");
        assert_eq!(
            to_text(12_345_678_901_234_567_890.0),
            "1.23456789012346E+19"
        );
        assert_eq!(to_text(1e-7), "1E-07");
        assert_eq!(to_text(1_234_567_890.0), "1234567890");
        assert_eq!(to_text(0.000_012_5), "1.25E-05");
        assert_eq!(to_text(0.000_125), "0.000125");
        assert_eq!(js_string(1e-7), "1e-7");
        assert_eq!(js_string(1.25e-7), "1.25e-7");
        assert_eq!(js_string(0.000_001), "0.000001");
        assert_eq!(to_text(f64::NAN), "NaN");
        assert_eq!(to_text(-0.0), "0");
    }
}
