/**
 * Java regular expressions on JS RegExp: the `=~` operator of the cluster query language takes
 * Java patterns (`Pattern.matches`), so this module owns translating the Java-only forms people
 * write into their nearest JS equivalents. Pure; it never evaluates a query.
 */

/** `text` as a literal inside a JS pattern. */
export function escapeRegex(text: string): string {
  return text.replace(/[\\^$.*+?()[\]{}|/-]/g, "\\$&");
}

/**
 * Java's `Pattern.matches` semantics on a JS RegExp: the whole string must match. Translates the
 * Java-only forms people write: leading `(?i)`-style flags, `\A` `\z` `\Z`, `\Q…\E`, possessive
 * quantifiers (treated as greedy) and atomic groups (treated as plain groups).
 */
export function compileJavaRegex(source: string): RegExp {
  const flagged = /^\(\?([imsu]+)\)/.exec(source);
  const flags = [...new Set(flagged?.[1]?.replace("u", "") ?? "")].join("");
  const body = translateJavaRegex(flagged === null ? source : source.slice(flagged[0].length));
  return new RegExp(`^(?:${body})$`, flags);
}

function translateJavaRegex(src: string): string {
  let out = "";
  let inClass = false;
  let afterQuantifier = false;
  for (let i = 0; i < src.length; i++) {
    const ch = src[i] ?? "";
    const quantified = afterQuantifier;
    afterQuantifier = false;
    if (ch === "\\") {
      const next = src[i + 1] ?? "";
      i++;
      if (next === "Q") {
        const end = src.indexOf("\\E", i + 1);
        out += escapeRegex(src.slice(i + 1, end < 0 ? src.length : end));
        i = end < 0 ? src.length : end + 1;
      } else if (!inClass && next === "A") out += "^";
      else if (!inClass && (next === "z" || next === "Z")) out += "$";
      else out += ch + next;
    } else if (inClass) {
      if (ch === "]") inClass = false;
      out += ch;
    } else if (ch === "[") {
      inClass = true;
      const negate = src[i + 1] === "^" ? "^" : "";
      i += negate.length;
      out += "[" + negate;
      // Java allows `]` first in a class as a literal; JS would read `[]` as an empty class.
      if (src[i + 1] === "]") {
        out += "\\]";
        i++;
      }
    } else if (ch === "+" && quantified) {
      // A possessive quantifier (`a*+`): JS has none, so it degrades to the greedy one.
    } else if (src.startsWith("(?>", i)) {
      out += "(?:";
      i += 2;
    } else {
      afterQuantifier = "*+?}".includes(ch) && src[i - 1] !== "(";
      out += ch;
    }
  }
  return out;
}
