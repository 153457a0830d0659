/*
 * A small stand-in for the LuCI client runtime (luci.js, cbi.js, rpc.js, uci.js, ui.js,
 * form.js), evaluated inside a jsdom window by harness.js.
 *
 * It implements only what the camguard views use, but where it matters for safety it does
 * exactly what upstream does:
 *  - dom.append/dom.content: an array child becomes text nodes, a DOM node is appended, a
 *    function is called, and ANY OTHER VALUE (a bare string) IS ASSIGNED TO innerHTML;
 *  - E(tag, attrs, children) = dom.create; a second argument that is not a plain object is
 *    the children; a tag starting with '<' is parsed as HTML;
 *  - ui.showModal(title, children): the title goes through E('h4', {}, title) (markup);
 *  - form titles and descriptions are markup; a table cell of a form shows
 *    '%h'.format(value); a choice label is a text child unless it is a node;
 *  - String.prototype.format: %s raw, %h HTML-escaped, %q quotes escaped.
 * So a view that hands a LAN string to any of these as a bare string fails the tests.
 */
(function(window) {
	'use strict';

	const document = window.document;

	/* ---- cbi.js: String.prototype.format, _(), N_() ---- */

	const HTML_ESC = [ /&/g, '&#38;', /"/g, '&#34;', /'/g, '&#39;', /</g, '&#60;', />/g, '&#62;' ];
	const QUOT_ESC = [ /"/g, '&#34;', /'/g, '&#39;' ];

	function esc(s, r) {
		const t = typeof(s);

		if (s == null || t === 'object' || t === 'function')
			return '';

		s = String(s);

		for (let i = 0; i < r.length; i += 2)
			s = s.replace(r[i], r[i + 1]);

		return s;
	}

	window.String.prototype.format = function() {
		const args = arguments;
		let n = 0;

		return String(this).replace(/%(-)?(\d+)?(\.\d+)?(%|s|d|h|q|x|f)/g, (m, just, width, prec, type) => {
			if (type == '%')
				return '%';

			const param = args[n++];
			let subst;

			if (param === undefined)
				subst = '';
			else if (type == 's')
				subst = String(param);
			else if (type == 'd')
				subst = Math.floor(+param || 0).toFixed(0);
			else if (type == 'x')
				subst = Math.floor(+param || 0).toString(16);
			else if (type == 'f')
				subst = prec ? (+param || 0).toFixed(+prec.substring(1)) : String(+param || 0);
			else if (type == 'h')
				subst = esc(param, HTML_ESC);
			else
				subst = esc(param, QUOT_ESC);

			while (width && subst.length < +width)
				subst = just ? subst + ' ' : ' ' + subst;

			return subst;
		});
	};

	window._ = function(s, c) { return s; };
	window.N_ = function(n, s, p, c) { return (n != 1) ? p : s; };

	/* ---- luci.js: Class ---- */

	function Class() {}

	Class.extend = function(props) {
		const Super = this;

		function ClassCtor() {
			if (typeof this.__init__ == 'function')
				this.__init__.apply(this, arguments);
		}

		ClassCtor.prototype = Object.create(Super.prototype);
		Object.assign(ClassCtor.prototype, props || {});
		ClassCtor.prototype.constructor = ClassCtor;
		ClassCtor.prototype.__base__ = Super.prototype;
		ClassCtor.extend = Class.extend;
		ClassCtor.singleton = Class.singleton;
		ClassCtor.instantiate = Class.instantiate;
		ClassCtor.isSubclass = Class.isSubclass;

		return ClassCtor;
	};

	Class.singleton = function(props) {
		return new (Class.extend.call(this, props))();
	};

	Class.isSubclass = function(cls) {
		return typeof cls == 'function' && cls.prototype instanceof Class;
	};

	Class.prototype.super = function(key, args) {
		const fn = this.__base__ && this.__base__[key];

		return (typeof fn == 'function') ? fn.apply(this, args || []) : fn;
	};

	/* ---- luci.js: dom ---- */

	const dom = Class.singleton({
		registry: {},

		elem(e) {
			return (e != null && typeof(e) == 'object' && 'nodeType' in e);
		},

		parse(s) {
			const tpl = document.createElement('template');
			tpl.innerHTML = s;
			return tpl.content.firstChild;
		},

		matches(node, selector) {
			const m = this.elem(node) ? node.matches : null;
			return m ? m.call(node, selector) : false;
		},

		parent(node, selector) {
			if (this.elem(node) && node.closest)
				return node.closest(selector);

			return null;
		},

		append(node, children) {
			if (!this.elem(node))
				return null;

			if (Array.isArray(children)) {
				for (let i = 0; i < children.length; i++) {
					if (this.elem(children[i]))
						node.appendChild(children[i]);
					else if (children[i] !== null && children[i] !== undefined)
						node.appendChild(document.createTextNode(String(children[i])));
				}

				return node.lastChild;
			}
			else if (typeof(children) === 'function') {
				return this.append(node, children(node));
			}
			else if (this.elem(children)) {
				return node.appendChild(children);
			}
			else if (children !== null && children !== undefined) {
				/* upstream: node.innerHTML = `${children}` */
				node.innerHTML = String(children);
				return node.lastChild;
			}

			return null;
		},

		content(node, children) {
			if (!this.elem(node))
				return null;

			while (node.firstChild)
				node.removeChild(node.firstChild);

			return this.append(node, children);
		},

		attr(node, key, val) {
			if (!this.elem(node))
				return null;

			let attr = null;

			if (typeof(key) === 'object' && key !== null)
				attr = key;
			else if (typeof(key) === 'string')
				attr = {}, attr[key] = val;

			for (key in attr) {
				if (!Object.prototype.hasOwnProperty.call(attr, key) || attr[key] == null)
					continue;

				switch (typeof(attr[key])) {
				case 'function':
					node.addEventListener(key, attr[key]);
					break;

				case 'object':
					node.setAttribute(key, JSON.stringify(attr[key]));
					break;

				default:
					node.setAttribute(key, attr[key]);
				}
			}
		},

		create() {
			const html = arguments[0];
			let attr = arguments[1];
			let data = arguments[2];
			let elem;

			if (!(attr instanceof Object) || Array.isArray(attr))
				data = attr, attr = null;

			if (Array.isArray(html)) {
				elem = document.createDocumentFragment();
				for (let i = 0; i < html.length; i++)
					elem.appendChild(this.create(html[i]));
			}
			else if (this.elem(html)) {
				elem = html;
			}
			else if (typeof(html) === 'string' && html.charCodeAt(0) === 60) {
				elem = this.parse(html);
			}
			else {
				elem = document.createElement(html);
			}

			if (!elem)
				return null;

			this.attr(elem, attr);
			this.append(elem, data);

			return elem;
		},

		bindClassInstance(node, inst) {
			node.__classInstance = inst;
		},

		findClassInstance(node) {
			while (node) {
				if (node.__classInstance)
					return node.__classInstance;
				node = node.parentNode;
			}
			return null;
		},

		callClassMethod(node, method, ...args) {
			const inst = this.findClassInstance(node);
			return (inst && typeof inst[method] == 'function') ? inst[method](...args) : null;
		},

		isEmpty(node) {
			return !node || !node.firstElementChild;
		}
	});

	/* E is created by (window realm) plain objects: `attr instanceof Object` must hold for them. */
	window.E = function() { return dom.create.apply(dom, arguments); };

	/* ---- luci.js: L ---- */

	const errors = [];

	const L = {
		env: { sessionid: 'ffffffffffffffffffffffffffffffff', pollinterval: 5, nodespec: { satisfied: true, readonly: false } },
		errors: errors,
		dom: dom,
		Class: Class,

		isObject(val) {
			return (val != null && typeof(val) == 'object');
		},

		toArray(val) {
			if (val == null)
				return [];
			else if (Array.isArray(val))
				return val;
			else if (typeof(val) == 'object')
				return [ val ];

			const s = String(val).trim();

			return (s != '') ? s.split(/\s+/) : [];
		},

		resolveDefault(value, defvalue) {
			return Promise.resolve(value).catch(() => defvalue);
		},

		bind(fn, self, ...args) {
			return Function.prototype.bind.call(fn, self, ...args);
		},

		url(...parts) {
			return '/cgi-bin/luci/' + parts.join('/');
		},

		/* upstream: null without a menu node, else whether the login holds the write grant */
		hasViewPermission() {
			if (!this.isObject(this.env.nodespec) || !this.env.nodespec.satisfied)
				return null;

			return !this.env.nodespec.readonly;
		},

		raise(type, fmt, ...args) {
			const e = new Error(String(fmt).format(...args));
			e.name = type;
			throw e;
		},

		error(type, fmt, ...args) {
			const e = (type instanceof Error) ? type : new Error(String(fmt || type).format(...args));
			errors.push(e);
			throw e;
		}
	};

	window.L = L;

	/* ---- rpc.js ---- */

	const STATUS_TEXT = [
		'Command OK', 'Invalid command', 'Invalid argument', 'Method not found',
		'Resource not found', 'No data received', 'Permission denied', 'Request timeout',
		'Not supported', 'Unspecified error', 'Connection lost'
	];

	const rpc = Class.singleton({
		/* Tests set this: (object, method, args) -> [ status, data? ] or { error: { code, message } } */
		backend: null,
		calls: [],

		getStatusText(code) {
			return STATUS_TEXT[code] || 'Unknown error (code %d)'.format(code);
		},

		declare(options) {
			const self = this;

			return function(...args) {
				return new Promise((resolve, reject) => {
					const params = {};
					let p_off = 0;

					if (Array.isArray(options.params))
						for (p_off = 0; p_off < options.params.length; p_off++)
							params[options.params[p_off]] = args[p_off];

					/* what goes over the wire is JSON: undefined members vanish */
					const wire = JSON.parse(JSON.stringify(params));

					self.calls.push({ object: options.object, method: options.method, args: wire });

					Promise.resolve().then(() => self.backend(options.object, options.method, wire)).then(msg => {
						if (msg && msg.error)
							return reject(new Error('RPC call to %s/%s failed with error %d: %s'
								.format(options.object, options.method, msg.error.code, msg.error.message)));

						const result = JSON.parse(JSON.stringify(msg));
						let ret;

						if (options.reject && result[0] !== 0)
							return reject(new Error('RPC call to %s/%s failed with ubus code %d: %s'
								.format(options.object, options.method, result[0], self.getStatusText(result[0]))));

						ret = (result.length > 1) ? result[1] : result[0];

						if (options.expect) {
							const type = Object.prototype.toString;

							for (const key in options.expect) {
								if (ret != null && key != '')
									ret = ret[key];

								if (ret == null || type.call(ret) != type.call(options.expect[key]))
									ret = options.expect[key];

								break;
							}
						}

						if (typeof(options.filter) == 'function')
							ret = options.filter(ret, params);

						resolve(ret);
					}).catch(reject);
				});
			};
		}
	});

	/* ---- uci.js (client-side cache; saves through rpc like upstream) ---- */

	const callUciGet = rpc.declare({ object: 'uci', method: 'get', params: [ 'config' ], expect: { values: {} }, reject: true });
	const callUciAdd = rpc.declare({ object: 'uci', method: 'add', params: [ 'config', 'type', 'name', 'values' ], expect: { section: '' }, reject: true });
	const callUciSet = rpc.declare({ object: 'uci', method: 'set', params: [ 'config', 'section', 'values' ], reject: true });
	const callUciDelete = rpc.declare({ object: 'uci', method: 'delete', params: [ 'config', 'section', 'options' ], reject: true });
	const callUciChanges = rpc.declare({ object: 'uci', method: 'changes', expect: { changes: {} } });
	const callUciApply = rpc.declare({ object: 'uci', method: 'apply', params: [ 'timeout', 'rollback' ], reject: true });
	const callUciConfirm = rpc.declare({ object: 'uci', method: 'confirm', reject: true });

	let sidCounter = 0;

	const uci = Class.singleton({
		state: { values: {}, creates: {}, changes: {}, deletes: {} },

		load(packages) {
			const pkgs = L.toArray(packages).filter(p => !this.state.values[p]);

			return Promise.all(pkgs.map(p => callUciGet(p))).then(res => {
				res.forEach((values, i) => { this.state.values[pkgs[i]] = values; });

				if (res.length)
					document.dispatchEvent(new window.CustomEvent('uci-loaded'));

				return pkgs;
			});
		},

		unload(packages) {
			L.toArray(packages).forEach(p => {
				delete this.state.values[p];
				delete this.state.creates[p];
				delete this.state.changes[p];
				delete this.state.deletes[p];
			});
		},

		add(conf, type, name) {
			const sid = name || ('new' + (++sidCounter).toString(16).padStart(6, '0'));

			this.state.creates[conf] = this.state.creates[conf] || {};
			this.state.creates[conf][sid] = { '.type': type, '.name': sid, '.create': name, '.anonymous': !name, '.index': 1000 + sidCounter };

			return sid;
		},

		remove(conf, sid) {
			const n = this.state.creates[conf];

			if (n && n[sid]) {
				delete n[sid];
			}
			else if (this.state.values[conf] && this.state.values[conf][sid]) {
				this.state.deletes[conf] = this.state.deletes[conf] || {};
				this.state.deletes[conf][sid] = true;
			}
		},

		sections(conf, type, cb) {
			const sa = [];
			const v = this.state.values[conf] || {};
			const n = this.state.creates[conf] || {};
			const d = this.state.deletes[conf] || {};

			for (const s in v)
				if (d[s] !== true && (type == null || v[s]['.type'] == type))
					sa.push(Object.assign({}, v[s], this.mergedChanges(conf, s)));

			for (const s in n)
				if (type == null || n[s]['.type'] == type)
					sa.push(Object.assign({}, n[s]));

			sa.sort((a, b) => a['.index'] - b['.index']);

			if (typeof cb == 'function')
				sa.forEach(s => cb.call(this, s, s['.name']));

			return sa;
		},

		mergedChanges(conf, sid) {
			const out = {};
			const c = (this.state.changes[conf] || {})[sid] || {};
			const d = (this.state.deletes[conf] || {})[sid] || {};

			Object.keys(c).forEach(k => { out[k] = c[k]; });
			Object.keys(d).forEach(k => { out[k] = undefined; });

			return out;
		},

		get(conf, sid, opt) {
			const v = this.state.values[conf] || {};
			const n = this.state.creates[conf] || {};
			const d = this.state.deletes[conf] || {};

			if (n[sid])
				return (opt == null) ? n[sid] : n[sid][opt];

			if (d[sid] === true || !v[sid])
				return null;

			const merged = Object.assign({}, v[sid], this.mergedChanges(conf, sid));

			Object.keys(merged).forEach(k => { if (merged[k] === undefined) delete merged[k]; });

			return (opt == null) ? merged : (merged[opt] != null ? merged[opt] : null);
		},

		set(conf, sid, opt, val) {
			if (sid == null || opt == null || opt.charAt(0) == '.')
				return;

			const n = this.state.creates[conf] || {};

			if (n[sid]) {
				if (val != null && val !== '')
					n[sid][opt] = val;
				else
					delete n[sid][opt];
				return;
			}

			const v = this.state.values[conf] || {};

			if (!v[sid])
				return;

			this.state.changes[conf] = this.state.changes[conf] || {};
			this.state.deletes[conf] = this.state.deletes[conf] || {};

			const c = this.state.changes[conf][sid] = this.state.changes[conf][sid] || {};
			const d = this.state.deletes[conf][sid] = this.state.deletes[conf][sid] || {};

			if (val != null && val !== '') {
				c[opt] = val;
				delete d[opt];
			}
			else {
				delete c[opt];
				if (Object.prototype.hasOwnProperty.call(v[sid], opt))
					d[opt] = true;
			}
		},

		unset(conf, sid, opt) {
			return this.set(conf, sid, opt, null);
		},

		get_first(conf, type, opt) {
			const s = this.sections(conf, type)[0];
			return s ? this.get(conf, s['.name'], opt) : null;
		},

		changes() {
			return callUciChanges();
		},

		save() {
			const tasks = [];
			const pkgs = {};

			for (const conf in this.state.deletes)
				for (const sid in this.state.deletes[conf]) {
					const d = this.state.deletes[conf][sid];

					if (d === true)
						tasks.push(callUciDelete(conf, sid, undefined));
					else if (Object.keys(d).length)
						tasks.push(callUciDelete(conf, sid, Object.keys(d)));
					pkgs[conf] = true;
				}

			for (const conf in this.state.creates)
				for (const sid in this.state.creates[conf]) {
					const s = this.state.creates[conf][sid];
					const values = {};

					Object.keys(s).forEach(k => { if (k.charAt(0) != '.') values[k] = s[k]; });
					tasks.push(callUciAdd(conf, s['.type'], s['.create'] || undefined, values));
					pkgs[conf] = true;
				}

			for (const conf in this.state.changes)
				for (const sid in this.state.changes[conf])
					if (Object.keys(this.state.changes[conf][sid]).length) {
						tasks.push(callUciSet(conf, sid, this.state.changes[conf][sid]));
						pkgs[conf] = true;
					}

			return Promise.all(tasks).then(() => {
				const list = Object.keys(pkgs);

				this.unload(list);

				return this.load(list);
			});
		},

		apply(timeout) {
			return callUciApply(timeout || 10, true).then(() => callUciConfirm()).then(() => 0);
		}
	});

	/* ---- poll ---- */

	const poll = Class.singleton({
		queue: [],

		add(fn, interval) {
			this.queue.push({ fn: fn, interval: interval || L.env.pollinterval });
			return true;
		},

		remove(fn) {
			const before = this.queue.length;
			this.queue = this.queue.filter(e => e.fn !== fn);
			return before != this.queue.length;
		},

		/* Tests: run every registered function once. */
		step() {
			return Promise.all(this.queue.map(e => Promise.resolve(e.fn())));
		}
	});

	/* ---- ui.js ---- */

	const modalDiv = document.body.appendChild(dom.create('div', { 'id': 'modal_overlay' },
		dom.create('div', { 'class': 'modal', 'role': 'dialog', 'aria-modal': true })));

	const ui = Class.singleton({
		showModal(title, children, ...classes) {
			const dlg = modalDiv.firstElementChild;

			dlg.setAttribute('class', 'modal');
			classes.forEach(c => dlg.classList.add(c));

			dom.content(dlg, dom.create('h4', {}, title));
			dom.append(dlg, children);

			document.body.classList.add('modal-overlay-active');

			return dlg;
		},

		hideModal() {
			document.body.classList.remove('modal-overlay-active');
		},

		addNotification(title, children, ...classes) {
			const mc = document.querySelector('#maincontent') || document.body;
			const msg = E('div', { 'class': 'alert-message fade-in' }, [ E('div', {}) ]);

			if (title != null)
				dom.append(msg.firstElementChild, E('h4', {}, title));

			dom.append(msg.firstElementChild, children);
			classes.forEach(c => msg.classList.add(c));
			mc.insertBefore(msg, mc.firstElementChild);

			return msg;
		},

		createHandlerFn(ctx, fn, ...args) {
			if (typeof(fn) == 'string')
				fn = ctx[fn];

			if (typeof(fn) != 'function')
				return null;

			return function(ev) {
				const target = ev && ev.currentTarget;
				const res = fn.apply(ctx, args.concat([ ev ]));

				if (target && res && typeof res.then == 'function') {
					target.classList.add('spinning');
					target.disabled = true;
					ui.pending.push(res.finally(() => {
						target.classList.remove('spinning');
						target.disabled = false;
					}));
				}

				return res;
			};
		},

		/* Tests await these: promises returned by handlers made with createHandlerFn. */
		pending: [],

		changes: Class.singleton({
			applied: [],

			init() {
				return uci.changes();
			},

			apply(checked) {
				this.applied.push(checked);
				return uci.apply();
			},

			setIndicator(n) {}
		})
	});

	/* ---- form.js (a faithful subset: where upstream inserts markup, so does this) ---- */

	function textOf(label, key) {
		/* ui.Select / ui.Dropdown: [ label ?? key ], a node label is cloned */
		if (dom.elem(label))
			return [ label.cloneNode(true) ];

		return [ label != null ? label : key ];
	}

	/* form.js callSessionAccess: may this login write the config? */
	const callSessionAccess = rpc.declare({ object: 'session', method: 'access', params: [ 'scope', 'object', 'function' ], expect: { access: false } });

	/* form.js CBIJSONConfig: a JSONMap's in-memory "uci" over { type: [ {…}, … ] } */
	const JSONConfig = Class.extend({
		__init__(data) {
			this.data = {};
			let n = 0;

			for (const type in data) {
				if (Array.isArray(data[type]))
					data[type].forEach(item => {
						const name = (typeof item['.name'] == 'string') ? item['.name'] : type + n;
						this.data[name] = Object.assign(item, { '.index': n++, '.anonymous': true, '.name': name, '.type': type });
					});
				else if (L.isObject(data[type]))
					this.data[type] = Object.assign(data[type], { '.index': n++, '.anonymous': false, '.name': type, '.type': type });
			}
		},

		load() { return Promise.resolve(this.data); },
		save() { return Promise.resolve(); },

		sections(config, type) {
			return Object.keys(this.data).map(k => this.data[k])
				.filter(s => type == null || s['.type'] == type)
				.sort((a, b) => a['.index'] - b['.index']);
		},

		get(config, section, option) {
			if (section == null)
				return null;

			if (option == null)
				return this.data[section];

			const v = this.data[section] ? this.data[section][option] : null;

			return (v != null) ? (Array.isArray(v) || L.isObject(v) ? v : String(v)) : null;
		},

		set(config, section, option, value) {
			if (this.data[section] && option.charAt(0) != '.') {
				if (value == null || value === '')
					delete this.data[section][option];
				else
					this.data[section][option] = value;
			}
		},

		unset(config, section, option) { this.set(config, section, option, null); },

		add(config, type) {
			const name = type + Object.keys(this.data).length;
			this.data[name] = { '.index': 1000, '.anonymous': true, '.name': name, '.type': type };
			return name;
		},

		remove(config, section) { delete this.data[section]; }
	});

	/* the client-side uci cache, as a Map's `data` */
	const uciData = {
		load: (config) => uci.load(config),
		save: () => uci.save(),
		sections: (config, type) => uci.sections(config, type),
		get: (config, sid, opt) => uci.get(config, sid, opt),
		set: (config, sid, opt, val) => uci.set(config, sid, opt, val),
		unset: (config, sid, opt) => uci.unset(config, sid, opt),
		add: (config, type, name) => uci.add(config, type, name),
		remove: (config, sid) => uci.remove(config, sid)
	};

	const AbstractValue = Class.extend({
		__init__(map, section, option, title, description) {
			this.map = map;
			this.section = section;
			this.option = option;
			this.title = title;
			this.description = description;
			this.keylist = null;
			this.vallist = null;
			this.deps = [];
			/* upstream: AbstractValue.__init__ sets rmempty = true */
			this.rmempty = true;
		},

		value(key, val) {
			this.keylist = this.keylist || [];
			this.keylist.push(String(key));
			this.vallist = this.vallist || [];
			this.vallist.push(dom.elem(val) ? val : String(val != null ? val : key));
		},

		depends(opt, val) {
			this.deps.push([ opt, val ]);
		},

		isReadonly() {
			return (this.readonly != null) ? this.readonly : !!this.map.readonly;
		},

		cfgvalue(sid) {
			return this.map.data.get(this.map.config, sid, this.option);
		},

		textvalue(sid) {
			let cval = this.cfgvalue(sid);

			if (cval == null)
				cval = this.default;

			if (Array.isArray(cval))
				cval = cval.join(' ');

			return (cval != null) ? '%h'.format(cval) : null;
		},

		cbid(sid) {
			return 'cbid.%s.%s.%s'.format(this.map.config, sid, this.option);
		},

		renderWidget(sid, optionIndex, cfgvalue) {
			const value = cfgvalue != null ? cfgvalue : this.default;
			const disabled = this.isReadonly() ? '' : null;

			if (this.keylist) {
				/* ui.Select (ListValue) or ui.Combobox (Value with choices) */
				const choices = this.keylist.map((k, i) => E(this.widgetTag == 'select' ? 'option' : 'li', {
					'value': this.widgetTag == 'select' ? k : null,
					'data-value': this.widgetTag == 'select' ? null : k,
					'selected': (value == k) ? '' : null
				}, textOf(this.vallist[i], k)));

				if (this.widgetTag == 'select')
					return E('select', { 'id': this.cbid(sid), 'class': 'cbi-input-select', 'disabled': disabled }, choices);

				return E('div', { 'class': 'cbi-dropdown', 'id': this.cbid(sid) }, [
					E('ul', {}, choices),
					E('input', { 'type': 'text', 'class': 'create-item-input', 'value': value != null ? value : null, 'disabled': disabled })
				]);
			}

			return E('input', {
				'type': 'text', 'id': this.cbid(sid), 'class': 'cbi-input-text', 'disabled': disabled,
				'value': value != null ? value : null, 'placeholder': this.placeholder != null ? this.placeholder : null
			});
		},

		formvalue(sid) {
			const node = document.getElementById(this.cbid(sid));

			if (!node)
				return null;

			if (node.type == 'checkbox')
				return node.checked ? this.enabled : this.disabled;

			if (node.classList.contains('cbi-dropdown'))
				return node.querySelector('input').value;

			return node.value;
		},

		render(sid) {
			return E('div', { 'class': 'cbi-value', 'data-name': this.option }, [
				E('label', { 'class': 'cbi-value-title', 'for': this.cbid(sid) }, this.title),   /* markup, as upstream */
				E('div', { 'class': 'cbi-value-field' }, [
					this.renderWidget(sid, 0, this.cfgvalue(sid)),
					this.description ? E('div', { 'class': 'cbi-value-description' }, this.description) : ''   /* markup, as upstream */
				])
			]);
		},

		remove(sid) {
			this.map.data.unset(this.map.config, sid, this.option);
		},

		write(sid, value) {
			this.map.data.set(this.map.config, sid, this.option, value);
		},

		/* upstream AbstractValue.parse */
		parse(sid) {
			const fval = this.formvalue(sid);

			if (fval == null && !document.getElementById(this.cbid(sid)))
				return Promise.resolve();

			const cval = this.cfgvalue(sid);

			if (fval == null || fval == '' || (fval == this.default && (this.optional || this.rmempty))) {
				if (this.rmempty || this.optional)
					return Promise.resolve(this.remove(sid));

				return Promise.reject(new TypeError('Option "%s" must not be empty.'.format(this.option)));
			}
			else if (cval != fval) {
				return Promise.resolve(this.write(sid, fval));
			}

			return Promise.resolve();
		}
	});

	const Flag = AbstractValue.extend({
		enabled: '1',
		disabled: '0',

		renderWidget(sid, optionIndex, cfgvalue) {
			const v = cfgvalue != null ? cfgvalue : this.default;

			return E('input', {
				'type': 'checkbox', 'id': this.cbid(sid), 'checked': (v == this.enabled) ? '' : null,
				'disabled': this.isReadonly() ? '' : null
			});
		},

		textvalue(sid) {
			const v = this.cfgvalue(sid) != null ? this.cfgvalue(sid) : this.default;
			return (v == this.enabled) ? _('Yes') : _('No');
		},

		/* upstream Flag.parse: default-valued flags are removed unless rmempty is false */
		parse(sid) {
			if (!document.getElementById(this.cbid(sid)))
				return Promise.resolve();

			const fval = this.formvalue(sid);

			if (fval == this.default && (this.optional || this.rmempty))
				return Promise.resolve(this.remove(sid));

			return Promise.resolve(this.write(sid, fval));
		}
	});

	const Value = AbstractValue.extend({ widgetTag: 'combobox' });
	const ListValue = AbstractValue.extend({ widgetTag: 'select' });
	const DummyValue = AbstractValue.extend({
		renderWidget(sid) {
			return E('div', { 'id': this.cbid(sid) }, this.textvalue(sid));
		},
		parse() { return Promise.resolve(); }
	});

	const AbstractSection = Class.extend({
		__init__(map, sectiontype, name, title, description) {
			this.map = map;
			this.sectiontype = sectiontype;
			this.name = name;
			this.title = title;
			this.description = description;
			this.children = [];
		},

		option(cls, option, title, description) {
			const o = new cls(this.map, this, option, title, description);
			this.children.push(o);
			return o;
		},

		taboption(tab, ...args) {
			return this.option(...args);
		},

		tab() {},

		cfgsections() {
			return this.map.data.sections(this.map.config, this.sectiontype).map(s => s['.name']);
		},

		renderHead() {
			return [
				this.title ? E('h3', {}, this.title) : '',            /* markup, as upstream */
				this.description ? E('div', { 'class': 'cbi-section-descr' }, this.description) : ''
			];
		},

		render() {
			const nodes = this.renderHead();

			this.cfgsections().forEach(sid => {
				nodes.push(E('div', { 'class': 'cbi-section-node', 'id': 'cbi-%s-%s'.format(this.map.config, sid) },
					this.children.map(o => o.render(sid))));
			});

			return E('div', { 'class': 'cbi-section' }, nodes);
		},

		parse() {
			return Promise.all([].concat(...this.cfgsections().map(sid => this.children.map(o => o.parse(sid)))));
		}
	});

	const NamedSection = AbstractSection.extend({
		__init__(map, section, sectiontype, title, description) {
			AbstractSection.prototype.__init__.call(this, map, sectiontype, section, title, description);
			this.section = section;
		},

		cfgsections() {
			return this.map.data.get(this.map.config, this.section) ? [ this.section ] : [];
		},

		render() {
			if (!this.cfgsections().length && this.addremove)
				return E('div', { 'class': 'cbi-section' }, this.renderHead().concat([
					E('button', { 'class': 'cbi-button cbi-button-add', 'disabled': this.map.readonly ? '' : null }, [ _('Add') ])
				]));

			return AbstractSection.prototype.render.call(this);
		}
	});

	const TypedSection = AbstractSection.extend({
		/* upstream TypedSection.handleAdd: add, then save the whole form (unsaved edits are staged) */
		handleAdd(ev, name) {
			this.map.data.add(this.map.config, this.sectiontype, name);
			return this.map.save(null, true);
		},

		handleRemove(sid) {
			this.map.data.remove(this.map.config, sid);
			return this.map.save(null, true);
		},

		/* a cell: an editable option's widget, or its text value ('%h' string = markup, or a node) */
		renderCell(o, sid, editable) {
			if (editable)
				return E('td', { 'class': 'td cbi-value-field', 'data-name': o.option }, [ o.renderWidget(sid, 0, o.cfgvalue(sid)) ]);

			const value = o.textvalue(sid);

			return E('td', { 'class': 'td cbi-value-field', 'data-name': o.option }, (value != null) ? value : E('em', _('none')));
		},

		render() {
			const readonly = this.map.readonly ? '' : null;
			const rows = this.cfgsections().map(sid => E('tr', { 'class': 'tr cbi-section-table-row', 'data-sid': sid },
				this.children.map(o => this.renderCell(o, sid, this.isEditable(o))).concat(this.addremove ? [
					E('td', { 'class': 'td cbi-section-table-cell nowrap cbi-section-actions' }, [
						E('button', { 'class': 'btn cbi-button cbi-button-remove', 'disabled': readonly,
							'click': ui.createHandlerFn(this, 'handleRemove', sid) }, [ _('Delete') ])
					])
				] : [])));

			return E('div', { 'class': 'cbi-section cbi-tblsection' }, this.renderHead().concat([
				E('table', { 'class': 'table cbi-section-table' }, [
					E('tr', { 'class': 'tr table-titles' }, this.children.map(o => E('th', { 'class': 'th' }, o.title)))   /* markup, as upstream */
				].concat(rows)),
				this.addremove ? E('div', { 'class': 'cbi-section-create' }, [
					E('button', { 'class': 'cbi-button cbi-button-add', 'disabled': readonly,
						'click': ui.createHandlerFn(this, 'handleAdd') }, [ _('Add') ])
				]) : ''
			]));
		},

		/* TableSection: every option is an inline widget */
		isEditable(o) {
			return !(o instanceof DummyValue);
		}
	});

	const TableSection = TypedSection.extend({});

	const GridSection = TableSection.extend({
		/* GridSection: only options marked `editable` are widgets in the table */
		isEditable(o) {
			return !!o.editable && !(o instanceof DummyValue);
		},

		/*
		 * upstream GridSection.handleAdd opens the new section in a dialog; its save stages that
		 * section and then load()s and reset()s the parent form, re-rendering it from the config:
		 * unsaved edits elsewhere in the form are gone. Modelled without the dialog.
		 */
		handleAdd(ev, name) {
			this.map.data.add(this.map.config, this.sectiontype, name);
			return this.map.data.save().then(() => this.map.load()).then(() => this.map.reset());
		}
	});

	const CBIMap = Class.extend({
		__init__(config, title, description) {
			this.config = config;
			this.title = title;
			this.description = description;
			this.children = [];
			this.data = uciData;
			this.readonly = null;
		},

		section(cls, ...args) {
			const s = new cls(this, ...args);
			this.children.push(s);
			return s;
		},

		/* upstream Map.load: the config, and rpcd's `session access` to decide readonly */
		load() {
			const checkACL = !this.isJSON && this.readonly == null;

			return Promise.all([
				checkACL ? callSessionAccess('uci', this.config, 'write') : true,
				this.data.load(this.config)
			]).then(res => {
				if (res[0] === false)
					this.readonly = true;
			});
		},

		renderContents() {
			const children = [
				this.title ? E('h2', { 'name': 'content' }, this.title) : '',            /* markup, as upstream */
				this.description ? E('div', { 'class': 'cbi-map-descr' }, this.description) : ''
			].concat(this.children.map(s => s.render()));

			if (!this.root) {
				this.root = E('div', { 'class': 'cbi-map', 'id': 'cbi-' + this.config }, children);
				dom.bindClassInstance(this.root, this);
			}
			else {
				dom.content(this.root, children);
			}

			return this.root;
		},

		render() {
			return this.load().then(() => this.renderContents());
		},

		parse() {
			return Promise.all(this.children.map(s => s.parse()));
		},

		/* upstream Map.save: parse, stage in the data, reload, re-render */
		save(cb, silent) {
			return this.parse()
				.then(cb)
				.then(() => this.data.save())
				.then(() => this.load())
				.then(() => this.renderContents());
		},

		reset() {
			return Promise.resolve(this.renderContents());
		}
	});

	const JSONMap = CBIMap.extend({
		__init__(data, title, description) {
			CBIMap.prototype.__init__.call(this, 'json', title, description);
			this.isJSON = true;
			this.data = new JSONConfig(data);
		}
	});

	const form = {
		Map: CBIMap,
		JSONMap: JSONMap,
		NamedSection: NamedSection,
		TypedSection: TypedSection,
		GridSection: GridSection,
		TableSection: TableSection,
		Flag: Flag,
		Value: Value,
		ListValue: ListValue,
		DummyValue: DummyValue
	};

	/* ---- luci.js: view ---- */

	const view = Class.extend({
		__init__() {
			const vp = document.getElementById('view');

			dom.content(vp, E('div', { 'class': 'spinning' }, 'Loading view…'));

			this.ready = Promise.resolve()
				.then(() => this.load())
				.then(data => this.render(data))
				.then(nodes => {
					dom.content(vp, nodes);
					dom.append(vp, this.addFooter());
				});
		},

		load() {},
		render() {},

		handleSave(ev) {
			const tasks = [];

			document.getElementById('maincontent').querySelectorAll('.cbi-map').forEach(map => {
				tasks.push(dom.callClassMethod(map, 'save'));
			});

			return Promise.all(tasks);
		},

		handleSaveApply(ev, mode) {
			return this.handleSave(ev).then(() => ui.changes.apply(mode == '0'));
		},

		handleReset(ev) {
			return Promise.resolve();
		},

		/* upstream: the buttons are disabled when every form is readonly (or, without forms, the view is) */
		addFooter() {
			const footer = E([]);
			const vp = document.getElementById('view');
			let hasmap = false;
			let readonly = true;

			vp.querySelectorAll('.cbi-map').forEach(map => {
				const m = dom.findClassInstance(map);

				if (m) {
					hasmap = true;

					if (!m.readonly)
						readonly = false;
				}
			});

			if (!hasmap)
				readonly = !L.hasViewPermission();

			if (this.handleSaveApply || this.handleSave || this.handleReset) {
				footer.appendChild(E('div', { 'class': 'cbi-page-actions' }, [
					this.handleSaveApply ? E('button', { 'class': 'cbi-button cbi-button-apply', 'disabled': readonly ? '' : null, 'click': ui.createHandlerFn(this, function(ev) { return this.handleSaveApply(ev, '0'); }) }, [ _('Save & Apply') ]) : '',
					this.handleSave ? E('button', { 'class': 'cbi-button cbi-button-save', 'disabled': readonly ? '' : null, 'click': ui.createHandlerFn(this, 'handleSave') }, [ _('Save') ]) : '',
					this.handleReset ? E('button', { 'class': 'cbi-button cbi-button-reset', 'disabled': readonly ? '' : null, 'click': ui.createHandlerFn(this, 'handleReset') }, [ _('Reset') ]) : ''
				]));
			}

			return footer;
		}
	});

	window.__luciShim = {
		baseclass: Class,
		dom: dom,
		rpc: rpc,
		uci: uci,
		ui: ui,
		form: form,
		poll: poll,
		view: view
	};
})(window);
