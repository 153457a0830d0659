'use strict';
'require baseclass';
'require camguard.common as cg';

/*
 * The exposure picture: internet → router → each device the internet can reach, one edge per
 * open path (UPnP mapping, port forward, DMZ, WAN rule), coloured by severity. Drawn here as
 * SVG without a library. Every string from the LAN becomes a text node (createTextNode), never
 * markup, and is cut short in the picture; the full string is in the <title> tooltip.
 */

const SVG_NS = 'http://www.w3.org/2000/svg';

/* Past this many paths a device shows one edge per kind, with a count. */
const GROUP_ABOVE = 4;

/* Past this many devices the rest are only counted; the tables below list them all. */
const MAX_ROWS = 60;

const NAME_CHARS = 28;

const KIND_ORDER = [ 'dmz', 'rule', 'forward', 'upnp' ];

/* Finding ids about firewall rules and zones that open the router or the LAN to the internet. */
const RULE_FINDINGS = [ 'router.admin_from_wan', 'router.wan_input_accept', 'router.wan_forward_accept' ];

const SEVERITY_RANK = { critical: 0, high: 1, medium: 2, low: 3, info: 4 };

function svg(tag, attrs, children) {
	const node = document.createElementNS(SVG_NS, tag);

	Object.keys(attrs || {}).forEach(k => {
		const v = attrs[k];

		if (v == null)
			return;

		if (typeof v == 'function')
			node.addEventListener(k, v);
		else
			node.setAttribute(k, String(v));
	});

	L.toArray(children).forEach(c => {
		if (c == null || c === '')
			return;

		node.appendChild((typeof c == 'object' && 'nodeType' in c) ? c : document.createTextNode(String(c)));
	});

	return node;
}

function cut(text, max) {
	text = String(text == null ? '' : text);

	return (text.length > max) ? text.slice(0, max - 1) + '…' : text;
}

/* Row ids: only [A-Za-z0-9_-], whatever a section or protocol is called. */
function rowId(kind, key) {
	return 'cg-row-' + kind + '-' + String(key).replace(/[^A-Za-z0-9_-]/g, '_');
}

function worst(severities) {
	return severities.reduce((w, s) => (SEVERITY_RANK[s] < SEVERITY_RANK[w] ? s : w), 'info');
}

function sameSection(subject, section) {
	return subject && subject.kind == 'section' && subject.config == 'firewall' && subject.section == section;
}

return baseclass.extend({
	rowId: rowId,

	mappingRow(m) {
		return rowId('mapping', m.proto + '-' + m.ext_port);
	},

	forwardRow(f) {
		return rowId('forward', f.section);
	},

	ruleRow(f, i) {
		return rowId('rule', i);
	},

	/* Findings about firewall rules or zones open to the internet (not port forwards). */
	ruleFindings(findings, forwards) {
		const sections = {};

		L.toArray(forwards).forEach(f => { sections[f.section] = true; });

		return L.toArray(findings).filter(f => RULE_FINDINGS.indexOf(f.id) > -1 &&
			!(f.subject && f.subject.kind == 'section' && sections[f.subject.section]));
	},

	/* One path per open way in: { kind, label, severity, device, addr, row, camera }. */
	paths(mappings, forwards, findings) {
		findings = L.toArray(findings);

		const out = [];

		L.toArray(mappings).forEach(m => {
			const f = findings.find(f => f.subject && f.subject.kind == 'mapping' &&
				String(f.subject.proto).toUpperCase() == String(m.proto).toUpperCase() && f.subject.ext_port == m.ext_port);

			out.push({
				kind: 'upnp',
				label: m.every_port ? _('every port') : m.ext_port + '/' + m.proto,
				/* A lease line without its firewall rules forwards nothing now, but miniupnpd
				   makes it again when it restarts: still a way in, marked as not active. */
				inactive: m.live === false,
				severity: f ? f.severity : (m.violates ? 'high' : 'medium'),
				device: m.device || null,
				addr: m.int_addr || null,
				row: this.mappingRow(m),
				camera: !!(m.device && cg.isCameraLike(m.device['class']))
			});
		});

		L.toArray(forwards).filter(f => f.enabled).forEach(fwd => {
			const about = findings.filter(f => sameSection(f.subject, fwd.section)).map(f => f.severity);

			out.push({
				kind: fwd.every_port ? 'dmz' : 'forward',
				label: fwd.every_port ? '' : cg.portRange(fwd.src_dport) + '/' + L.toArray(fwd.protocols).join('+'),
				severity: fwd.every_port ? 'critical' : (about.length ? worst(about) : 'low'),
				device: fwd.device || null,
				addr: fwd.dest_ip || null,
				row: this.forwardRow(fwd),
				camera: !!(fwd.device && cg.isCameraLike(fwd.device['class']))
			});
		});

		this.ruleFindings(findings, forwards).forEach((f, i) => {
			const ev = f.evidence || {};
			const device = ev.device || null;

			out.push({
				kind: 'rule',
				label: L.toArray(ev.ports).map(p => p.port).filter(p => p != null).join(', ') || _('firewall rule'),
				severity: f.severity,
				device: device,
				addr: device ? device.ip : (ev.dest_ip || null),
				row: this.ruleRow(f, i),
				camera: !!(device && cg.isCameraLike(device['class']))
			});
		});

		return out;
	},

	/* Paths per target (a device, an address, or the router itself), worst first. */
	targets(paths) {
		const byKey = {};
		const list = [];

		paths.forEach(p => {
			const key = p.device ? (p.device.mac || p.device.ip || p.addr) : (p.addr || '');

			if (!byKey[key]) {
				byKey[key] = { key: key, device: p.device, addr: p.addr, camera: false, paths: [] };
				list.push(byKey[key]);
			}

			byKey[key].paths.push(p);
			byKey[key].camera = byKey[key].camera || p.camera;
		});

		list.forEach(t => { t.severity = worst(t.paths.map(p => p.severity)); });

		return list.sort((a, b) => (SEVERITY_RANK[a.severity] - SEVERITY_RANK[b.severity]) ||
			(b.paths.length - a.paths.length));
	},

	/* The edges of a target: one per path, or one per kind with a count when there are many. */
	edges(target) {
		if (target.paths.length <= GROUP_ABOVE)
			return target.paths.map(p => ({ kind: p.kind, label: p.label, severity: p.severity, row: p.row, count: 1, inactive: p.inactive }));

		return KIND_ORDER.map(kind => {
			const of = target.paths.filter(p => p.kind == kind);

			if (!of.length)
				return null;

			return {
				kind: kind,
				label: this.kindCount(kind, of.length),
				severity: worst(of.map(p => p.severity)),
				row: of[0].row,
				count: of.length
			};
		}).filter(e => e != null);
	},

	kindLabel(kind) {
		switch (kind) {
		case 'upnp': return _('UPnP mapping');
		case 'forward': return _('port forward');
		case 'dmz': return _('every port forwarded (DMZ)');
		case 'rule': return _('firewall rule');
		}
	},

	kindCount(kind, n) {
		switch (kind) {
		case 'upnp': return N_(n, '%d UPnP mapping', '%d UPnP mappings').format(n);
		case 'forward': return N_(n, '%d port forward', '%d port forwards').format(n);
		case 'dmz': return N_(n, '%d forward of every port', '%d forwards of every port').format(n);
		default: return N_(n, '%d firewall rule', '%d firewall rules').format(n);
		}
	},

	dash(kind) {
		switch (kind) {
		case 'upnp': return '6 4';
		case 'rule': return '2 4';
		default: return null;
		}
	},

	/*
	 * The picture. opts: onSelect(edge) when an edge or its label is clicked, routerName,
	 * complete (false: the audit could not read everything), width (default: the window's).
	 */
	render(paths, opts) {
		opts = opts || {};

		const targets = this.targets(paths);
		const shown = targets.slice(0, MAX_ROWS);
		const avail = opts.width || ((window.innerWidth || 800) - 48);
		const W = Math.max(300, Math.min(avail, 880));
		const narrow = W < 520;
		const netX = narrow ? 26 : 60;
		const routerX = narrow ? 84 : 200;
		const devX = narrow ? 136 : 340;
		const chipH = 22;
		const rows = [];
		let y = 16;

		shown.forEach(t => {
			const edges = this.edges(t);
			const chips = [];
			let cx = devX + 10;
			let cy = y + 24;

			edges.forEach(e => {
				const text = (e.count > 1 || !e.label) ? (e.label || this.kindLabel(e.kind))
					: e.label + ' ' + this.kindLabel(e.kind) + (e.inactive ? ', ' + _('not active now') : '');
				const w = 12 + Math.min(text.length, 40) * 7;

				if (cx + w > W - 4 && cx > devX + 10) {
					cx = devX + 10;
					cy += chipH + 4;
				}

				chips.push({ edge: e, text: cut(text, 40), x: cx, y: cy, w: w });
				cx += w + 6;
			});

			rows.push({ target: t, y: y, chips: chips });
			y = cy + chipH + 14;
		});

		const H = Math.max(y, 120);
		const midY = Math.min(H / 2, 60 + (H > 200 ? 40 : 0));
		const parts = [];

		/* internet → router */
		parts.push(svg('line', { x1: netX, y1: midY, x2: routerX, y2: midY, stroke: '#555', 'stroke-width': 3 }));

		rows.forEach(r => {
			const nodeY = r.y + 8;

			r.chips.forEach((c, i) => {
				const e = c.edge;
				const color = cg.severityColor(e.severity);
				const d = 'M' + routerX + ',' + midY + ' C' + (routerX + devX) / 2 + ',' + midY + ' ' +
					(routerX + devX) / 2 + ',' + (nodeY + i * 2) + ' ' + (devX - 2) + ',' + (nodeY + i * 2);
				const select = () => { if (opts.onSelect) opts.onSelect(e); };
				const key = ev => { if (ev.key == 'Enter' || ev.key == ' ') { ev.preventDefault(); select(); } };
				const name = c.text;

				parts.push(svg('g', {
					'class': 'cg-edge', 'data-row': e.row, 'data-severity': e.severity, 'data-kind': e.kind,
					'role': 'link', 'tabindex': 0, 'aria-label': name, 'style': 'cursor:pointer',
					'click': select, 'keydown': key
				}, [
					svg('title', {}, [ name ]),
					svg('path', { d: d, fill: 'none', stroke: 'transparent', 'stroke-width': 12 }),
					svg('path', {
						d: d, fill: 'none', stroke: color, 'stroke-width': (e.kind == 'dmz') ? 4 : 2,
						'stroke-dasharray': this.dash(e.kind)
					})
				]));

				parts.push(svg('g', {
					'class': 'cg-chip', 'data-row': e.row, 'role': 'link', 'tabindex': -1, 'style': 'cursor:pointer',
					'click': select
				}, [
					svg('title', {}, [ name ]),
					svg('rect', { x: c.x, y: c.y, width: c.w, height: chipH, rx: 4, fill: '#fff', stroke: color, 'stroke-width': 1.5 }),
					svg('text', { x: c.x + 6, y: c.y + 15, 'font-size': 12, fill: '#222' }, [ c.text ])
				]));
			});

			parts.push(this.targetNode(r.target, devX, r.y, W));
		});

		parts.push(svg('circle', { cx: netX, cy: midY, r: narrow ? 18 : 24, fill: '#31708f' }));
		parts.push(svg('text', { x: netX, y: midY + (narrow ? 32 : 40), 'font-size': 12, 'text-anchor': 'middle', fill: '#222' }, [ _('Internet') ]));
		parts.push(svg('rect', { x: routerX - 22, y: midY - 14, width: 44, height: 28, rx: 5, fill: '#444' }));
		parts.push(svg('g', { 'class': 'cg-router' }, [
			svg('title', {}, [ opts.routerName || _('Router') ]),
			svg('text', { x: routerX, y: midY + 30, 'font-size': 12, 'text-anchor': 'middle', fill: '#222' }, [
				cut(opts.routerName || _('Router'), narrow ? 10 : 22)
			])
		]));

		const picture = svg('svg', {
			'class': 'cg-map', 'width': W, 'height': H, 'viewBox': '0 0 ' + W + ' ' + H,
			'role': 'img', 'aria-label': _('What the internet can reach'),
			'style': 'max-width:100%;height:auto;display:block'
		}, parts);

		const notes = [];

		if (!targets.length)
			notes.push(E('p', { 'class': 'cg-map-empty' }, [
				(opts.complete === false)
					? _('Camguard found no way in from the internet in what it could read; part of the router could not be read (see below).')
					: _('Nothing on your network can be reached from the internet through UPnP, port forwards or firewall rules.')
			]));

		if (targets.length > shown.length)
			notes.push(E('p', {}, [ E('em', {}, [
				N_(targets.length - shown.length, '… and %d more device, listed in the tables below.', '… and %d more devices, listed in the tables below.')
					.format(targets.length - shown.length)
			]) ]));

		return E('div', { 'class': 'cg-exposure-map', 'style': 'overflow-x:auto' }, [
			picture,
			E('p', { 'class': 'cg-map-legend', 'style': 'font-size:90%' }, [
				this.legendSwatch('critical'), ' ', this.legendSwatch('high'), ' ', this.legendSwatch('medium'), ' ', this.legendSwatch('low'), ' · ',
				_('dashed: UPnP mapping; solid: port forward; thick: every port; dotted: firewall rule. Click a line to see its row.')
			])
		].concat(notes));
	},

	legendSwatch(severity) {
		return E('span', { 'style': 'white-space:nowrap' }, [
			E('span', { 'style': 'display:inline-block;width:1.5em;height:.35em;vertical-align:middle;background:' + cg.severityColor(severity) }),
			' ', cg.severityLabel(severity)
		]);
	},

	/* A device (or the router itself): its name, kind, and a mark when it is a camera. */
	targetNode(t, x, y, width) {
		const name = t.device ? cg.deviceName(t.device) : (t.addr || _('The router itself'));
		const kind = t.device ? cg.classLabel(t.device['class']) : (t.addr ? _('Unknown device') : '');
		const color = cg.severityColor(t.severity);
		const children = [
			svg('title', {}, [ name + (kind ? ' (' + kind + ')' : '') ]),
			svg('circle', { cx: x, cy: y + 8, r: 7, fill: color })
		];

		if (t.camera)
			children.push(svg('g', { 'class': 'cg-camera-mark' }, [
				svg('rect', { x: x + 12, y: y + 1, width: 16, height: 12, rx: 2, fill: '#222' }),
				svg('circle', { cx: x + 20, cy: y + 7, r: 3.5, fill: '#fff' })
			]));

		/* about 8 px a character at 14 px: name and kind cut to what the width leaves */
		const textX = x + (t.camera ? 34 : 14);
		const room = Math.max(8, Math.floor((width - textX - 4) / 8));
		const label = cut(name, Math.min(NAME_CHARS, room)) + (kind ? ' (' + kind + ')' : '');

		children.push(svg('text', {
			x: textX, y: y + 13, 'font-size': 14, 'font-weight': t.camera ? 'bold' : 'normal', fill: '#222'
		}, [ cut(label, room) ]));

		return svg('g', { 'class': 'cg-target', 'data-severity': t.severity }, children);
	}
});
