#!/usr/bin/env node
'use strict';
/*
 * Builds po/templates/camguard.pot the way LuCI's build/i18n-scan.pl does (xgettext keywords
 * _:1, _:1,2c, N_:2,3, N_:2,3,4c in the JS views; menu titles and ACL descriptions in the
 * JSON files), without needing gettext installed.
 *
 *   node i18n-scan.js           print the template
 *   node i18n-scan.js --write   write openwrt-package/luci-app-camguard/po/templates/camguard.pot
 */
const fs = require('node:fs');
const path = require('node:path');

const PKG = path.join(__dirname, '..', '..', 'openwrt-package', 'luci-app-camguard');
const FEED_PATH = 'applications/luci-app-camguard';   /* where the package sits in the luci feed */
const POT = path.join(PKG, 'po', 'templates', 'camguard.pot');

function walk(dir, filter) {
	if (!fs.existsSync(dir))
		return [];

	return fs.readdirSync(dir, { withFileTypes: true })
		.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
		.flatMap(e => {
			const p = path.join(dir, e.name);
			return e.isDirectory() ? walk(p, filter) : (filter(p) ? [ p ] : []);
		});
}

/* ---- a small JavaScript tokenizer: enough to find _('…') calls reliably ---- */

const PUNCT_BEFORE_REGEX = new Set([ '(', ',', '=', ':', '[', '!', '&', '|', '?', '{', '}', ';', '+', '-', '*', '%', '<', '>', '~', '^' ]);

function unescapeJs(body) {
	return body.replace(/\\(u\{[0-9a-fA-F]+\}|u[0-9a-fA-F]{4}|x[0-9a-fA-F]{2}|\r\n|[\s\S])/g, (m, e) => {
		if (e[0] == 'u' && e[1] == '{')
			return String.fromCodePoint(parseInt(e.slice(2, -1), 16));
		if (e[0] == 'u' && e.length == 5)
			return String.fromCharCode(parseInt(e.slice(1), 16));
		if (e[0] == 'x' && e.length == 3)
			return String.fromCharCode(parseInt(e.slice(1), 16));

		switch (e) {
		case 'n': return '\n';
		case 't': return '\t';
		case 'r': return '\r';
		case 'b': return '\b';
		case 'f': return '\f';
		case 'v': return '\v';
		case '0': return '\0';
		case '\n': case '\r\n': return '';
		default: return e;
		}
	});
}

function tokenize(src) {
	const tokens = [];
	let i = 0;
	let line = 1;

	const last = () => tokens.length ? tokens[tokens.length - 1] : null;

	while (i < src.length) {
		const c = src[i];

		if (c == '\n') { line++; i++; continue; }
		if (/\s/.test(c)) { i++; continue; }

		if (c == '/' && src[i + 1] == '/') {
			while (i < src.length && src[i] != '\n') i++;
			continue;
		}

		if (c == '/' && src[i + 1] == '*') {
			const end = src.indexOf('*/', i + 2);
			const stop = end < 0 ? src.length : end + 2;
			line += (src.slice(i, stop).match(/\n/g) || []).length;
			i = stop;
			continue;
		}

		if (c == '\'' || c == '"') {
			let j = i + 1;
			while (j < src.length && src[j] != c) {
				if (src[j] == '\\') j++;
				if (src[j] == '\n') line++;
				j++;
			}
			tokens.push({ type: 'string', value: unescapeJs(src.slice(i + 1, j)), line });
			i = j + 1;
			continue;
		}

		if (c == '`') {
			/* template literals are never translated; skip them, including ${} parts */
			let j = i + 1, depth = 0;
			while (j < src.length && !(src[j] == '`' && depth == 0)) {
				if (src[j] == '\\') j++;
				else if (src[j] == '$' && src[j + 1] == '{') { depth++; j++; }
				else if (src[j] == '}' && depth > 0) depth--;
				else if (src[j] == '\n') line++;
				j++;
			}
			tokens.push({ type: 'template', line });
			i = j + 1;
			continue;
		}

		if (c == '/') {
			const prev = last();
			const regexAllowed = !prev || (prev.type == 'punct' && PUNCT_BEFORE_REGEX.has(prev.value)) ||
				(prev.type == 'ident' && [ 'return', 'typeof', 'case', 'in', 'of', 'new', 'delete', 'void', 'throw' ].includes(prev.value));

			if (regexAllowed) {
				let j = i + 1, cls = false;
				while (j < src.length && (src[j] != '/' || cls)) {
					if (src[j] == '\\') j++;
					else if (src[j] == '[') cls = true;
					else if (src[j] == ']') cls = false;
					j++;
				}
				j++;
				while (j < src.length && /[a-z]/i.test(src[j])) j++;
				tokens.push({ type: 'regex', line });
				i = j;
				continue;
			}
		}

		const ident = /^[A-Za-z_$][\w$]*/.exec(src.slice(i, i + 256));
		if (ident) {
			tokens.push({ type: 'ident', value: ident[0], line });
			i += ident[0].length;
			continue;
		}

		const num = /^[0-9][\w.]*/.exec(src.slice(i, i + 64));
		if (num) {
			tokens.push({ type: 'number', value: num[0], line });
			i += num[0].length;
			continue;
		}

		tokens.push({ type: 'punct', value: c, line });
		i++;
	}

	return tokens;
}

/* The top-level arguments of the call whose '(' is at tokens[start]: arrays of tokens. */
function callArgs(tokens, start) {
	const args = [ [] ];
	let depth = 0;

	for (let i = start + 1; i < tokens.length; i++) {
		const t = tokens[i];

		if (t.type == 'punct' && '([{'.includes(t.value)) depth++;
		if (t.type == 'punct' && ')]}'.includes(t.value)) {
			if (depth == 0)
				return args;
			depth--;
		}

		if (depth == 0 && t.type == 'punct' && t.value == ',')
			args.push([]);
		else
			args[args.length - 1].push(t);
	}

	return args;
}

/* A literal argument: one string, or strings joined with '+'. */
function literal(arg) {
	if (!arg || !arg.length)
		return null;

	let out = '';

	for (let i = 0; i < arg.length; i++) {
		if (i % 2 == 0 && arg[i].type == 'string')
			out += arg[i].value;
		else if (i % 2 == 1 && arg[i].type == 'punct' && arg[i].value == '+')
			continue;
		else
			return null;
	}

	return out;
}

function collapse(s) {
	return s.replace(/[\n\t]/g, ' ').replace(/ {2,}/g, ' ').trim();
}

function scanJs(file, add) {
	const tokens = tokenize(fs.readFileSync(file, 'utf8'));

	for (let i = 0; i + 1 < tokens.length; i++) {
		const t = tokens[i];
		const prev = tokens[i - 1];

		if (t.type != 'ident' || (t.value != '_' && t.value != 'N_'))
			continue;
		if (tokens[i + 1].type != 'punct' || tokens[i + 1].value != '(')
			continue;
		if (prev && prev.type == 'punct' && prev.value == '.')
			continue;

		const args = callArgs(tokens, i + 1);

		if (t.value == '_') {
			const id = literal(args[0]);
			if (id != null)
				add(id, args.length > 1 ? literal(args[1]) : null, null, file, t.line);
		}
		else {
			const id = literal(args[1]);
			const plural = literal(args[2]);
			if (id != null && plural != null)
				add(id, args.length > 3 ? literal(args[3]) : null, plural, file, t.line);
		}
	}
}

/* menu.d titles and acl.d descriptions, with the line each one is on. */
function scanJson(file, key, add) {
	const lines = fs.readFileSync(file, 'utf8').split('\n');
	const re = new RegExp('"' + key + '"\\s*:\\s*("(?:[^"\\\\]|\\\\.)*")');

	lines.forEach((text, n) => {
		const m = re.exec(text);
		if (m)
			add(JSON.parse(m[1]), null, null, file, n + 1);
	});
}

/* ---- .pot output, wrapped like gettext (79 columns) ---- */

function escapePo(s) {
	return s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n').replace(/\t/g, '\\t');
}

function poString(keyword, s) {
	const esc = escapePo(s);
	const single = keyword + ' "' + esc + '"';

	if (single.length <= 79 && !esc.includes('\\n'))
		return single;

	const lines = [];
	let cur = '';

	for (const word of esc.match(/[^ ]* *|[^ ]+/g).filter(w => w.length)) {
		if (cur.length && (cur + word).length + 2 > 79) {
			lines.push(cur);
			cur = '';
		}
		cur += word;
	}

	if (cur.length)
		lines.push(cur);

	return [ keyword + ' ""' ].concat(lines.map(l => '"' + l + '"')).join('\n');
}

function generate() {
	const entries = new Map();

	const add = (id, ctx, plural, file, line) => {
		id = collapse(id);
		ctx = ctx == null ? null : collapse(ctx);

		if (!id.length)
			return;

		const key = (ctx == null ? '' : ctx + '\u0004') + id;
		const e = entries.get(key) || { id, ctx, plural: null, refs: [] };

		if (plural != null)
			e.plural = collapse(plural);

		e.refs.push({ file: FEED_PATH + '/' + path.relative(PKG, file).split(path.sep).join('/'), line });
		entries.set(key, e);
	};

	walk(path.join(PKG, 'htdocs'), p => p.endsWith('.js')).forEach(f => scanJs(f, add));
	walk(path.join(PKG, 'root', 'usr', 'share', 'luci', 'menu.d'), p => p.endsWith('.json')).forEach(f => scanJson(f, 'title', add));
	walk(path.join(PKG, 'root', 'usr', 'share', 'rpcd', 'acl.d'), p => p.endsWith('.json')).forEach(f => scanJson(f, 'description', add));

	const cmp = (a, b) => (a < b ? -1 : a > b ? 1 : 0);
	const sorted = Array.from(entries.values()).sort((a, b) => cmp(a.id, b.id) || cmp(a.ctx || '', b.ctx || ''));
	const out = [ 'msgid ""', 'msgstr "Content-Type: text/plain; charset=UTF-8"' ];

	for (const e of sorted) {
		out.push('');
		e.refs.sort((a, b) => cmp(a.file, b.file) || a.line - b.line)
			.forEach(r => out.push('#: ' + r.file + ':' + r.line));

		if (e.ctx != null)
			out.push(poString('msgctxt', e.ctx));

		out.push(poString('msgid', e.id));

		if (e.plural != null) {
			out.push(poString('msgid_plural', e.plural));
			out.push('msgstr[0] ""', 'msgstr[1] ""');
		}
		else {
			out.push('msgstr ""');
		}
	}

	return out.join('\n') + '\n';
}

module.exports = { generate, tokenize, POT };

if (require.main === module) {
	const pot = generate();

	if (process.argv.includes('--write'))
		fs.writeFileSync(POT, pot);
	else
		process.stdout.write(pot);
}
