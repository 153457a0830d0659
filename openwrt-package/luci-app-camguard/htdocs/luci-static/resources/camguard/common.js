'use strict';
'require baseclass';
'require rpc';
'require ui';
'require uci';

/*
 * Shared by the camguard views: the ubus calls of docs/ubus-api.md, labels, and the
 * confirm -> apply -> "journal id + undo" dialogs.
 *
 * Strings that LAN devices chose (hostnames, UPnP descriptions, vendor names and every
 * title, detail or reason that quotes them) reach the DOM only as text: always as an
 * array child, E('td', {}, [ str ]), never E('td', {}, str), which LuCI assigns to
 * innerHTML. lan() below is the usual way.
 */

/* libuci's name for an anonymous section: "cfg" and six hex digits (snapshot/policy.rs). */
const ANONYMOUS_ID = /^cfg[0-9a-f]{6}$/i;

/* A port range as a uci option value, e.g. "8080", "8000-8010", "!80". */
function portOption(range) {
	const text = (range.lo == range.hi) ? String(range.lo) : range.lo + '-' + range.hi;

	return range.negated ? '!' + text : text;
}

const callStatus = rpc.declare({
	object: 'camguard',
	method: 'status',
	expect: { '': {} }
});

const callFindings = rpc.declare({
	object: 'camguard',
	method: 'findings',
	expect: { findings: [] }
});

const callDevices = rpc.declare({
	object: 'camguard',
	method: 'devices',
	expect: { devices: [] }
});

const callMappings = rpc.declare({
	object: 'camguard',
	method: 'mappings',
	expect: { mappings: [] }
});

const callForwards = rpc.declare({
	object: 'camguard',
	method: 'forwards',
	expect: { forwards: [] }
});

const callJournal = rpc.declare({
	object: 'camguard',
	method: 'journal',
	expect: { entries: [] }
});

/* Write methods: no `expect`, so a failure arrives as the numeric ubus status. */
const callAudit = rpc.declare({
	object: 'camguard',
	method: 'audit'
});

const callEnforce = rpc.declare({
	object: 'camguard',
	method: 'enforce',
	params: [ 'dry_run', 'finding', 'subject' ]
});

const callRevoke = rpc.declare({
	object: 'camguard',
	method: 'revoke',
	params: [ 'proto', 'ext_port' ]
});

const callRevert = rpc.declare({
	object: 'camguard',
	method: 'revert',
	params: [ 'id' ]
});

const SEVERITIES = [ 'critical', 'high', 'medium', 'low', 'info' ];

/*
 * What the daemon assumes for an option missing from /etc/config/camguard
 * (src/snapshot/policy.rs, the shipped files/etc/config/camguard).
 */
const POLICY_DEFAULTS = {
	enforce: '0',
	upnp: 'off',
	forwards: 'allowlist',
	camera_internet: 'allow'
};

/* The recommended policy and, per option, the values at least as strict. */
const RECOMMENDED = {
	enforce: '1',
	upnp: 'restricted',
	forwards: 'allowlist',
	camera_internet: 'allow'
};

const AS_STRICT = {
	enforce: [ '1' ],
	upnp: [ 'restricted', 'off' ],
	forwards: [ 'allowlist', 'off' ],
	camera_internet: [ 'allow', 'block' ]
};

/* jsmin (luci.mk) mistakes a literal backtick in code for a template literal. */
const BACKTICK = '\u0060';

/* How long a journal must stay unchanged before the changes of an action count as complete. */
const JOURNAL_SETTLE_MS = 1200;
const JOURNAL_SETTLE_READS = 6;

const SEVERITY_COLORS = {
	critical: '#8b0000',
	high: '#c9302c',
	medium: '#d58512',
	low: '#31708f',
	info: '#777'
};

const CAMERA_CLASSES = [ 'camera', 'doorbell', 'baby_monitor', 'nvr' ];

/* Characters that reorder the text around them (e.g. "\u202egpj.exe" shows as "exe.jpg"). */
const BIDI_CONTROLS = new RegExp('[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]');

/* A reply of a write call: the object, or an Error naming the ubus status. */
function checkReply(method, reply) {
	if (L.isObject(reply))
		return reply;

	if (reply === 0 || reply == null)
		return {};

	const err = new Error(_('camguard could not %s: %s').format(method, rpc.getStatusText(reply)));

	err.ubusStatus = reply;
	throw err;
}

/* rpc.js rejects a call uhttpd refused with "RPC call to o/m failed with error -32002: Access denied". */
function jsonRpcCode(err) {
	const m = /failed with error (-?\d+)/.exec((err && err.message) || '');

	return m ? +m[1] : null;
}

/* "yes"/"on"/"true" count as on, as in the daemon's flag(). */
function flagValue(v) {
	return [ '1', 'on', 'true', 'yes' ].indexOf(String(v)) > -1 ? '1' : '0';
}

function sleep(ms) {
	return new Promise(resolve => setTimeout(resolve, ms));
}

return baseclass.extend({
	callStatus: callStatus,
	callFindings: callFindings,
	callDevices: callDevices,
	callMappings: callMappings,
	callForwards: callForwards,
	callJournal: callJournal,

	severities: SEVERITIES,

	/* Resolves with the reply of a read call, or null when camguard cannot be reached. */
	read(call) {
		return L.resolveDefault(call(), null);
	},

	audit() {
		return callAudit().then(reply => checkReply('audit', reply));
	},

	enforce(dryRun, findingId, subject) {
		/* Absent arguments must be left out, not sent as null. */
		return callEnforce(!!dryRun, findingId == null ? undefined : findingId, subject == null ? undefined : subject)
			.then(reply => checkReply('enforce', reply));
	},

	revoke(proto, extPort) {
		return callRevoke(String(proto), Number(extPort)).then(reply => checkReply('revoke', reply));
	},

	revert(id) {
		return callRevert(id).then(reply => checkReply('revert', reply));
	},

	/* ---- the policy in /etc/config/camguard, as the daemon reads it ---- */

	/*
	 * The allowlist entry that keeps forward `f` (a row of `forwards`) whatever sections are
	 * added or removed around it: its name, a named section's name, or, for an unnamed forward,
	 * what it does. Never an anonymous section's cfg… ID: deleting an earlier section renumbers
	 * those, and the daemon ignores such entries (policy.allow_forward_ambiguous).
	 */
	allowEntry(f) {
		if (f.name)
			return { redirect: f.name };

		if (!ANONYMOUS_ID.test(f.section))
			return { redirect: f.section };

		const entry = { proto: L.toArray(f.protocols).join(' ') };

		if (f.src_dport)
			entry.src_dport = portOption(f.src_dport);

		if (f.dest_ip)
			entry.dest_ip = f.dest_ip;

		if (f.dest_port)
			entry.dest_port = portOption(f.dest_port);

		return entry;
	},

	/* An allowlist entry (a uci section or allowEntry's object) in words, one text per entry. */
	describeAllowEntry(entry) {
		if (entry.redirect)
			return entry.redirect;

		const to = (entry.dest_ip || '?') + (entry.dest_port ? ':' + entry.dest_port : '');

		return [ entry.proto, entry.src_dport ? 'port ' + entry.src_dport : null, '→', to ]
			.filter(w => w).join(' ');
	},

	/* Whether allowlist section `s` keeps forward `f`, decided as the daemon does (AllowForward::matches). */
	allowEntryKeeps(s, f) {
		const given = o => s[o] != null && s[o] !== '';

		if (given('redirect')) {
			const byName = (f.name != null && s.redirect == f.name) ||
				(!ANONYMOUS_ID.test(f.section) && s.redirect == f.section);

			if (!byName)
				return false;
		}
		else if (!given('src_dport') && !given('dest_ip') && !given('dest_port')) {
			return false;
		}

		const words = v => String(v).split(/\s+/).filter(w => w).map(w => w.toLowerCase()).sort().join(' ');
		const samePort = (text, range) => !given(text) || (range != null && portOption(range) == String(s[text]).replace(':', '-').trim());

		return (!given('proto') || words(s.proto) == words(L.toArray(f.protocols).join(' '))) &&
			samePort('src_dport', f.src_dport) &&
			samePort('dest_port', f.dest_port) &&
			(!given('dest_ip') || s.dest_ip == f.dest_ip) &&
			(!given('src_ip') || s.src_ip == f.src_ip);
	},

	recommended: RECOMMENDED,

	mainSection() {
		const s = uci.sections('camguard', 'camguard')[0];

		return s ? s['.name'] : null;
	},

	/* The policy in force: what the form shows, with the daemon's defaults for missing options. */
	effectivePolicy() {
		const sid = this.mainSection();
		const policy = {};

		Object.keys(POLICY_DEFAULTS).forEach(k => {
			const v = (sid != null) ? uci.get('camguard', sid, k) : null;

			policy[k] = (v == null || v === '') ? POLICY_DEFAULTS[k] : String(v);
		});

		policy.enforce = flagValue(policy.enforce);

		return policy;
	},

	/* The recommended policy or a stricter one (UPnP off, no forwards, cameras blocked). */
	isRecommended(policy) {
		return Object.keys(AS_STRICT).every(k => AS_STRICT[k].indexOf(policy[k]) > -1);
	},

	/* Options to set for the recommended policy; stricter choices the owner made stay. */
	recommendedChanges(policy) {
		const out = {};

		Object.keys(RECOMMENDED).forEach(k => {
			if (AS_STRICT[k].indexOf(policy[k]) < 0)
				out[k] = RECOMMENDED[k];
		});

		return out;
	},

	/* ---- read-only sessions ---- */

	/* LuCI marks a view read-only when the login holds only the read grant of its ACL. */
	canWrite() {
		return L.hasViewPermission() !== false;
	},

	readOnlyText() {
		return _('You are logged in without permission to change camguard.');
	},

	/* What a write refused by the ACL would fail with (ubus status 6), before it is sent. */
	readOnlyError() {
		return Object.assign(new Error(this.readOnlyText()), { ubusStatus: 6 });
	},

	readOnlyNotice() {
		return E('div', { 'class': 'alert-message notice cg-readonly' }, [
			E('p', {}, [
				this.readOnlyText(), ' ',
				_('You can look at everything; the buttons that change the router are disabled. Log in as a user with write access to change it.')
			])
		]);
	},

	/* A button that changes the router: disabled, with the reason as its tooltip, for a read-only login. */
	writeButton(label, classes, onclick) {
		const readonly = !this.canWrite();

		return E('button', {
			'class': 'btn ' + classes,
			'click': readonly ? null : onclick,
			'disabled': readonly ? '' : null,
			'title': readonly ? this.readOnlyText() : null
		}, [ label ]);
	},

	/* ---- errors as a person reads them ---- */

	describeError(err) {
		const code = jsonRpcCode(err);
		const status = err ? err.ubusStatus : null;

		if (code == -32002 || status == 6)
			return this.readOnlyText();

		if (code == -32001)
			return _('Your LuCI login has expired. Log in again and repeat the action.');

		if (code == -32000 || status == 3)
			return _('The camguard service did not reply. Check that it is installed and running (System → Startup).');

		if (status == 8)
			return _('This camguard reads a saved copy of a router, not the router itself, so it cannot change anything.');

		if (status == 4)
			return _('That no longer exists on the router; the page shows it again after the next audit.');

		if (code != null || /^RPC call to/.test((err && err.message) || ''))
			return _('The router did not accept the request (%s). Reload the page and try again.').format(
				code != null ? String(code) : _('no reply'));

		return (err && err.message) ? err.message : String(err);
	},

	/* A refused or failed call: a notification at the top of the page, never a raw RPC error. */
	notifyError(title, err) {
		ui.hideModal();

		return ui.addNotification(null, [
			E('p', {}, [ E('strong', {}, [ title ]), ': ', this.describeError(err) ])
		], 'danger');
	},

	/* ---- the journal: every change of one action, as one group ---- */

	journalSettleMs: JOURNAL_SETTLE_MS,

	/* Changes an entry (or an enforce reply) made: `applied` indexes `actions` in a journal entry. */
	changeCount(entry) {
		if (!entry)
			return 0;

		if (Array.isArray(entry.applied))
			return entry.applied.length;

		if (typeof entry.applied == 'number')
			return entry.applied;

		return L.toArray(entry.actions).length;
	},

	appliedActions(entry) {
		const actions = L.toArray(entry && entry.actions);

		if (Array.isArray(entry && entry.applied))
			return entry.applied.map(i => actions[i]).filter(a => a != null);

		return actions;
	},

	/* A journal entry's `failed` items ({ action: index, error }) with their actions. */
	failedActions(entry) {
		const actions = L.toArray(entry && entry.actions);

		return L.toArray(entry && entry.failed).map(f =>
			(f && typeof f == 'object' && typeof f.action == 'number')
				? { action: actions[f.action], error: f.error }
				: f);
	},

	groupCount(entries) {
		return L.toArray(entries).reduce((n, e) => n + this.changeCount(e), 0);
	},

	readJournal() {
		return callJournal().then(entries => L.toArray(entries));
	},

	/*
	 * Runs `run` and collects every journal entry that appeared meanwhile: the action's own and
	 * what the daemon applied by itself (saving enforce '1' makes it enforce at once). The journal
	 * is read until it stops changing. Resolves with { reply, entries } (entries newest first).
	 */
	runGrouped(run) {
		const self = this;

		return L.resolveDefault(self.readJournal(), null).then(before => {
			const known = {};

			L.toArray(before).forEach(e => { known[e.id] = true; });

			return Promise.resolve(run()).then(reply => {
				if (before == null)
					return { reply: reply, entries: self.entriesOfReply(reply) };

				let last = null;
				let reads = 0;

				function fresh(entries) {
					return entries.filter(e => !known[e.id] && !e.reverted && e.state != 'reverted');
				}

				function step() {
					return L.resolveDefault(self.readJournal(), []).then(entries => {
						const now = fresh(entries);
						const ids = now.map(e => e.id).join(' ');

						if ((last === ids && reads > 0) || ++reads >= JOURNAL_SETTLE_READS)
							return now;

						last = ids;

						return sleep(self.journalSettleMs).then(step);
					});
				}

				/* the action's own entry belongs to the group even if the listing missed it */
				return step().then(entries => ({
					reply: reply,
					entries: self.entriesOfReply(reply).filter(r => !entries.some(e => e.id == r.id)).concat(entries)
				}));
			});
		});
	},

	/* Without a readable journal, the reply is all there is to go by. */
	entriesOfReply(reply) {
		if (!reply || !reply.journal_id)
			return [];

		return [ { id: reply.journal_id, actions: reply.actions, applied: reply.applied } ];
	},

	/*
	 * Undoes the entries newest first; counts the changes of the entries that were undone. An
	 * entry the daemon put anything back for counts, and its failed steps (a reload, say) are
	 * listed: the daemon marks it undone all the same.
	 */
	revertGroup(entries) {
		const self = this;
		const ordered = L.toArray(entries).slice().sort((a, b) =>
			((b.time || 0) - (a.time || 0)) || String(b.id).localeCompare(String(a.id)));
		const result = { undone: 0, failed: [], notes: [] };

		return ordered.reduce((p, e) => p.then(() => self.revert(e.id).then(reply => {
			const failed = L.toArray(reply.failed);

			/* What came back by meaning rather than byte for byte, and why. */
			L.toArray(reply.notes).forEach(n => result.notes.push(String(n)));

			failed.forEach(f => result.failed.push(self.failureText(f)));

			if (!failed.length || Number(reply.reverted) > 0)
				result.undone += self.changeCount(e);
		})), Promise.resolve()).then(() => result);
	},

	/* A `failed` item: a string, or { action, error } with the action or its index. */
	failureText(f) {
		if (f == null)
			return '?';

		if (typeof f != 'object')
			return String(f);

		const why = (f.action && f.action.why) ? f.action.why : null;

		return why ? why + ': ' + (f.error || '') : (f.error || '?');
	},

	/* ---- remedies for LuCI users ---- */

	/* The report's text with `code` shown as code: never markup, never literal backticks. */
	remedyText(text) {
		const parts = String(text == null ? '' : text).split(BACKTICK);

		/* an unpaired backtick stays as text */
		if (parts.length % 2 == 0)
			return [ String(text) ];

		return parts.map((part, i) => (i % 2) ? E('code', {}, [ part ]) : part).filter(p => p !== '');
	},

	/* Where in LuCI the owner changes what a finding is about (null: nowhere but camguard). */
	luciPath(f) {
		const id = String((f && f.id) || '');
		const subject = (f && f.subject) || {};

		if (/^forward\./.test(id) || (subject.kind == 'section' && subject.config == 'firewall' && /^router\.admin/.test(id)))
			return {
				label: /^router\./.test(id) ? _('Network → Firewall → Traffic Rules') : _('Network → Firewall → Port Forwards'),
				url: /^router\./.test(id) ? L.url('admin/network/firewall/rules') : L.url('admin/network/firewall/forwards')
			};

		if (/^router\.wan_/.test(id))
			return { label: _('Network → Firewall → General Settings'), url: L.url('admin/network/firewall') };

		if (/^upnp\./.test(id))
			return { label: _('Services → Camguard → Settings (UPnP)'), url: L.url('admin/services/camguard/settings') };

		if (/^camera\./.test(id))
			return { label: _('Services → Camguard → Devices'), url: L.url('admin/services/camguard/devices') };

		if (/^wifi\./.test(id))
			return { label: _('Network → Wireless'), url: L.url('admin/network/wireless') };

		if (id == 'router.root_password_empty')
			return { label: _('System → Administration'), url: L.url('admin/system/admin') };

		if (id == 'router.firmware_eol')
			return { label: _('System → Backup / Flash Firmware'), url: L.url('admin/system/flash') };

		return null;
	},

	severityLabel(severity) {
		switch (severity) {
		case 'critical': return _('Critical');
		case 'high': return _('High');
		case 'medium': return _('Medium');
		case 'low': return _('Low');
		case 'info': return _('Information');
		default: return String(severity);
		}
	},

	severityColor(severity) {
		return SEVERITY_COLORS[severity] || '#777';
	},

	severityBadge(severity) {
		return E('span', {
			'class': 'label',
			'style': 'color:#fff;background-color:' + (SEVERITY_COLORS[severity] || '#777')
		}, [ this.severityLabel(severity) ]);
	},

	classLabel(cls) {
		switch (cls) {
		case 'camera': return _('Camera');
		case 'doorbell': return _('Video doorbell');
		case 'baby_monitor': return _('Baby monitor');
		case 'nvr': return _('NVR/DVR');
		case 'other': return _('Not a camera');
		case null:
		case undefined:
		case '': return _('Unknown');
		default: return String(cls);
		}
	},

	confidenceLabel(confidence) {
		switch (confidence) {
		case 'high': return _('high confidence');
		case 'medium': return _('medium confidence');
		case 'low': return _('low confidence');
		default: return '';
		}
	},

	isCameraLike(cls) {
		return CAMERA_CLASSES.indexOf(cls) > -1;
	},

	hasBidiControls(value) {
		return value != null && BIDI_CONTROLS.test(String(value));
	},

	bidiWarning() {
		return E('em', { 'class': 'cg-bidi-warning', 'style': 'color:#c9302c' }, [
			_('(contains invisible characters that reverse the text direction)')
		]);
	},

	/* A string a LAN device chose, as text in its own bidi isolate. */
	lan(value) {
		const text = (value == null) ? '' : String(value);
		const node = E('bdi', { 'class': 'cg-lan', 'style': 'overflow-wrap:anywhere' }, [ text ]);

		if (!this.hasBidiControls(text))
			return node;

		return E('span', {}, [ node, ' ', this.bidiWarning() ]);
	},

	/* The name a person knows a device by: a device record or a device summary. */
	deviceName(dev) {
		if (!dev)
			return _('Unknown device');

		const hostnames = L.toArray(dev.hostnames);
		const ips = L.toArray(dev.ips);

		return dev.hostname || hostnames[0] || dev.ip || ips[0] || dev.mac || _('Unknown device');
	},

	/* "name (Camera, Reolink)" with every LAN part as text. */
	deviceCell(dev, fallbackAddr) {
		if (!dev)
			return E('span', {}, [ this.lan(fallbackAddr || _('Unknown device')) ]);

		const kind = [ this.classLabel(dev['class']) ];

		if (dev.vendor)
			kind.push(', ', this.lan(dev.vendor));

		const cam = this.isCameraLike(dev['class']);

		return E('span', {}, [
			cam ? E('strong', {}, [ this.lan(this.deviceName(dev)) ]) : this.lan(this.deviceName(dev)),
			E('br'),
			E('small', {}, [ '(' ].concat(kind, [ ')' ]))
		]);
	},

	portRange(range) {
		if (!range)
			return _('every port');

		const text = (range.lo == range.hi) ? String(range.lo) : range.lo + '-' + range.hi;

		return range.negated ? _('all but %s').format(text) : text;
	},

	formatTime(unixTime) {
		if (!unixTime)
			return '';

		return new Date(unixTime * 1000).toLocaleString();
	},

	/* `expires` of a mapping: absolute Unix time, 0 = permanent, null = no lease line. */
	formatExpiry(expires, now) {
		if (expires == null)
			return _('unknown (no lease)');

		if (expires == 0)
			return _('never (permanent)');

		const left = expires - now;

		if (left <= 0)
			return _('expired');

		if (left >= 86400)
			return N_(Math.floor(left / 86400), 'in %d day', 'in %d days').format(Math.floor(left / 86400));

		if (left >= 3600)
			return N_(Math.floor(left / 3600), 'in %d hour', 'in %d hours').format(Math.floor(left / 3600));

		return N_(Math.ceil(left / 60), 'in %d minute', 'in %d minutes').format(Math.ceil(left / 60));
	},

	/* The list of `why`s of planned or applied actions. */
	actionList(actions) {
		actions = L.toArray(actions);

		if (!actions.length)
			return E('p', {}, [ E('em', {}, [ _('Nothing to change.') ]) ]);

		return E('ul', {}, actions.map(a => E('li', {}, [ (a && (a.why || a.kind)) || '?' ])));
	},

	notRunning() {
		return E('div', { 'class': 'alert-message warning' }, [
			E('h4', {}, [ _('camguard is not answering') ]),
			E('p', {}, [ _('The camguard service did not reply. Check under System → Startup that camguard is enabled and started.') ])
		]);
	},

	/*
	 * Ask first, then run. opts: title, body (nodes), confirm (button label),
	 * run() -> Promise of an enforce-like reply, done() after the result was closed,
	 * undo(group) -> Promise of revertGroup()'s result (default: revertGroup of the entries),
	 * enforcing (bool: the policy will put the change back after an undo).
	 * What run() changed is read back from the journal as one group (runGrouped).
	 */
	confirmAndRun(opts) {
		const self = this;

		ui.showModal(opts.title, [
			E('div', {}, L.toArray(opts.body)),
			E('div', { 'class': 'right' }, [
				E('button', { 'class': 'btn', 'click': ui.hideModal }, [ _('Cancel') ]),
				' ',
				self.writeButton(opts.confirm || _('Apply'), 'cbi-button-action important',
					ui.createHandlerFn(self, function() {
						return self.runGrouped(opts.run)
							.then(group => self.showResult(opts.title, group, opts))
							.catch(err => {
								self.notifyError(opts.title, err);
								if (opts.done)
									opts.done();
							});
					}))
			])
		]);
	},

	/* Undo one journal entry (the "Recent changes" table). */
	confirmUndo(title, entry, opts) {
		const self = this;

		ui.showModal(title, [
			E('p', {}, [
				N_(self.changeCount(entry), 'Put back the %d change of journal entry %s?', 'Put back the %d changes of journal entry %s?')
					.format(self.changeCount(entry), entry.id)
			]),
			E('div', { 'class': 'right' }, [
				E('button', { 'class': 'btn', 'click': ui.hideModal }, [ _('Cancel') ]),
				' ',
				self.writeButton(_('Undo'), 'cbi-button-negative important', ui.createHandlerFn(self, function() {
					return self.revertGroup([ entry ])
						.then(result => self.showReverted(title, result, opts))
						.catch(err => {
							self.notifyError(title, err);
							if (opts && opts.done)
								opts.done();
						});
				}))
			])
		]);
	},

	/* What the router now differs in after an action: every change of the group, and one Undo. */
	showResult(title, group, opts) {
		const self = this;
		const reply = group.reply || {};
		const entries = L.toArray(group.entries);
		const count = self.groupCount(entries);
		const failed = L.toArray(reply.failed);
		const pending = L.toArray(reply.pending);
		const verified = L.toArray(reply.verified).filter(v => !v.ok);
		const own = entries.filter(e => e.id != reply.journal_id);
		const body = [];

		if (entries.length) {
			body.push(E('p', { 'class': 'cg-result-count' }, [
				N_(count, 'Camguard made %d change on your router:', 'Camguard made %d changes on your router:').format(count)
			]));
			body.push(self.actionList([].concat.apply([], entries.map(e => self.appliedActions(e)))));

			if (own.length)
				body.push(E('p', {}, [ E('em', {}, [
					N_(self.groupCount(own), 'Camguard applied %d of these by itself while this ran (enforcement is on); Undo puts it back too.',
						'Camguard applied %d of these by itself while this ran (enforcement is on); Undo puts them back too.').format(self.groupCount(own))
				]) ]));

			body.push(E('p', {}, [ E('small', {}, [
				N_(entries.length, 'Journal entry:', 'Journal entries:'), ' ',
				E('code', {}, [ entries.map(e => e.id).join(', ') ])
			]) ]));
		}
		else {
			body.push(E('p', {}, [ _('Nothing had to be changed: the router already matches.') ]));
		}

		if (failed.length)
			body.push(E('div', { 'class': 'alert-message error' }, [
				E('p', {}, [ _('These changes failed:') ]),
				E('ul', {}, failed.map(f => E('li', {}, [ self.failureText(f) ])))
			]));

		if (verified.length)
			body.push(E('div', { 'class': 'alert-message warning' }, [
				E('p', {}, [ _('These checks did not pass afterwards:') ]),
				E('ul', {}, verified.map(v => E('li', {}, [ v.check || '?', ': ', v.detail || '' ])))
			]));

		if (pending.length)
			body.push(E('p', { 'class': 'alert-message notice' }, [
				_('Some changes wait until the pending LuCI apply is confirmed; camguard retries them then.')
			]));

		const close = E('button', {
			'class': 'btn',
			'click': function() {
				ui.hideModal();
				if (opts && opts.done)
					opts.done();
			}
		}, [ _('Close') ]);
		const buttons = [ close ];

		if (entries.length)
			buttons.unshift(self.writeButton(
				(count > 1) ? _('Undo all %d changes').format(count) : _('Undo'), 'cbi-button-negative',
				ui.createHandlerFn(self, function() {
					const undo = (opts && opts.undo) ? opts.undo(group) : self.revertGroup(entries);

					return Promise.resolve(undo).then(res => {
						self.showReverted(title, res, opts);
					}).catch(err => {
						self.notifyError(title, err);
						if (opts && opts.done)
							opts.done();
					});
				})), ' ');

		ui.showModal(title, body.concat([ E('div', { 'class': 'right' }, buttons) ]));
	},

	/* result: { undone: n, failed: [ text ], notes: [ text ] } from revertGroup(). */
	showReverted(title, result, opts) {
		const failed = L.toArray(result && result.failed);
		const notes = L.toArray(result && result.notes);
		const undone = (result && result.undone) || 0;
		const body = [
			E('p', { 'class': 'cg-result-count' }, [
				N_(undone, 'Undid %d change.', 'Undid %d changes.').format(undone)
			])
		];

		if (failed.length)
			body.push(E('div', { 'class': 'alert-message error' }, [
				E('p', {}, [ _('These could not be undone:') ]),
				E('ul', {}, failed.map(f => E('li', {}, [ String(f) ])))
			]));

		if (notes.length)
			body.push(E('div', { 'class': 'alert-message notice cg-revert-notes' }, [
				E('p', {}, [ _('Not everything came back byte for byte:') ]),
				E('ul', {}, notes.map(n => E('li', {}, [ n ])))
			]));

		if (opts && opts.enforcing)
			body.push(E('p', { 'class': 'alert-message warning' }, [
				_('Enforcement is on: camguard will make this change again at its next audit unless you change the policy under Settings.')
			]));

		body.push(E('div', { 'class': 'right' }, [
			E('button', {
				'class': 'btn',
				'click': function() {
					ui.hideModal();
					if (opts && opts.done)
						opts.done();
				}
			}, [ _('Close') ])
		]));

		ui.showModal(title, body);
	}
});
