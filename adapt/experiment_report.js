/*
 * avmm experiment report: draws the page from the JSON that `avmm experiment`
 * wrote into #avmm-report-data (adapt/experiment_json.c says its shape).
 * Header, summary table (ratios vs the first profile), one uPlot chart per
 * metric with every run overlaid, phases shaded and the loop's decisions as
 * numbered markers, the decision list and the files written. For tests the
 * body carries data-charts (charts drawn), data-unavailable and data-errors,
 * and every chart's div data-points (non-null points drawn).
 */
(function () {
	'use strict';
	var PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf'];
	var errors = [];

	function fail(msg) {
		errors.push(String(msg));
		document.body.setAttribute('data-errors', String(errors.length));
		document.getElementById('errors').textContent = 'report errors:\n' + errors.join('\n');
	}
	window.addEventListener('error', function (e) { fail(e.message || e); });

	function el(tag, attrs, children) {
		var e = document.createElement(tag), k;

		for (k in attrs || {})
			e.setAttribute(k, attrs[k]);
		(children || []).forEach(function (c) {
			e.appendChild(typeof c === 'string' ? document.createTextNode(c) : c);
		});
		return e;
	}

	function fmt(v, digits) {
		if (v === null || v === undefined || !isFinite(v))
			return '-';
		if (digits === undefined)
			digits = Math.abs(v) >= 100 ? 0 : Math.abs(v) >= 10 ? 1 : 2;
		return v.toFixed(digits);
	}

	function colour(run) { return PALETTE[run.result % PALETTE.length]; }
	function runName(D, run) { return run.profile + (D.experiment.repeat > 1 ? ' run ' + run.rep : ''); }

	/* ---- header ---------------------------------------------------------- */

	function header(D, root) {
		var x = D.experiment, h = D.host || {}, dl = el('dl', { class: 'head' }), phases;

		function row(k, v) { dl.appendChild(el('dt', {}, [k])); dl.appendChild(el('dd', {}, [v])); }
		root.appendChild(el('h1', {}, ['avmm experiment: ' + x.name + (x.simulated ? ' (simulated)' : '')]));
		if (x.interrupted)
			root.appendChild(el('p', { class: 'warn' }, ['INTERRUPTED: ' + x.interrupted]));
		row('file', x.file);
		row('guest', x.guest + (x.cmdline ? " '" + x.cmdline + "'" : '') + ', ' + x.vcpus + ' vCPU' +
		    (x.vcpus > 1 ? 's' : '') + ', ' + x.memory_mib + ' MiB');
		if (x.simulated)
			row('machine', x.simulated + ' (a model, not this host)');
		row(x.simulated ? 'simulated by' : 'host', (h.name || '?') + ' (Linux ' + (h.kernel || '?') + ', ' + (h.machine || '?') + ', ' +
		    (h.cpus || '?') + ' CPUs)');
		row('date', D.date || '?');
		row('avmm', D.avmm_version);
		row('profiles', D.profiles.join(', ') + (D.profiles.length > 1 ? ' (ratios against ' +
		    D.profiles[0] + ')' : ''));
		row('runs', fmt(x.duration_s, 2) + ' s each, x' + x.repeat + (x.dry_run ?
		    ', dry run: decisions logged, not applied' : ''));
		phases = D.phases.map(function (p) {
			return p.name + ' ' + fmt(p.from_s, 2) + '-' + fmt(p.to_s, 2) + ' s' + (p.what ? ': ' + p.what : '');
		});
		row('phases', phases.join('; '));
		root.appendChild(dl);
	}

	/* ---- summary --------------------------------------------------------- */

	function ratioSpan(v, base, higherBetter) {
		var r, cls = 'ratio';

		if (v === null || base === null || !isFinite(v) || !isFinite(base) || base === 0)
			return null;
		r = v / base;
		if (higherBetter !== undefined && Math.abs(r - 1) > 0.02)
			cls += (r > 1) === higherBetter ? ' better' : ' worse';
		return el('span', { class: cls }, [' (' + r.toFixed(2) + 'x)']);
	}

	/* as the CLI prints them; ratios only where they mean something */
	var DIGITS = { secs: 2, samples: 0, exits_per_s: 0, ipc: 2, decisions: 0, guest_cpu_pct: 1,
		run_delay_pct: 1, power_w: 1, energy_j: 1 };
	var EST = { power_w: 1, energy_j: 1 };
	var RATIO = { guest_cpu_pct: 1, run_delay_pct: 1, exits_per_s: 1, ipc: 1, power_w: 1, energy_j: 1 };

	function summary(D, root) {
		var t = el('table', { id: 'summary' }), head = el('tr', {}, [el('th', { class: 'l' }, [''])]);
		var tp = D.throughput, tr, i, est = D.runs.some(function (r) { return r.energy_estimated; });

		root.appendChild(el('h2', {}, ['Summary per phase and profile']));
		D.profiles.forEach(function (p, i) {
			head.appendChild(el('th', {}, [el('span', { class: 'swatch', style: 'background:' +
				PALETTE[i % PALETTE.length] }), p]));
		});
		t.appendChild(head);
		D.summary.forEach(function (row) {
			t.appendChild(el('tr', { class: 'phase' }, [el('th', { colspan: String(D.profiles.length + 1) },
				[row.label])]));
			D.metrics.forEach(function (m, mi) {
				var r = el('tr', {}, [el('td', { class: 'l' }, [m.label])]);

				row.values.forEach(function (vals, pi) {
					var star = est && EST[m.key] && vals[mi] !== null ? '*' : '';
					var td = el('td', {}, [fmt(vals[mi], DIGITS[m.key]) + star]),
						rs = pi && RATIO[m.key] ? ratioSpan(vals[mi], row.values[0][mi]) : null;

					if (rs)
						td.appendChild(rs);
					r.appendChild(td);
				});
				t.appendChild(r);
			});
		});
		tr = el('tr', {}, [el('td', { class: 'l' }, ['throughput ' + (tp.key || '(unknown)')])]);
		tp.values.forEach(function (v, i) {
			var td = el('td', {}, [fmt(v, 1)]), rs = i ? ratioSpan(v, tp.values[0], true) : null;

			if (rs)
				td.appendChild(rs);
			tr.appendChild(td);
		});
		t.appendChild(tr);
		tr = el('tr', {}, [el('td', { class: 'l' }, ['guest end'])]);
		tp.guest_end.forEach(function (e) { tr.appendChild(el('td', {}, [e])); });
		t.appendChild(tr);
		root.appendChild(t);
		if (est)
			root.appendChild(el('p', { class: 'note' }, ['* estimated from a model (no RAPL energy ' +
				'counters on this ' + (D.experiment.simulated ? 'machine model' : 'host') + ')']));
		for (i = 0; i < tp.notes.length; i++)
			if (tp.notes[i])
				root.appendChild(el('p', { class: 'note' }, [D.profiles[i] + ': throughput unknown: ' +
					tp.notes[i]]));
		if (D.table_text)
			root.appendChild(el('details', {}, [el('summary', {}, ['as avmm experiment printed it']),
				el('pre', {}, [D.table_text])]));
	}

	/* ---- charts ---------------------------------------------------------- */

	var CHARTS = [
		{ key: 'cpu_s', title: 'Guest progress', unit: 's', axis: 'vCPU CPU time (s)',
		  note: 'CPU time the guest\'s vCPUs got since its start, summed: the steeper, the faster it runs.' },
		{ key: 'cpu_pct', title: 'Guest CPU', unit: '%', axis: 'CPU per vCPU (%)',
		  note: 'Mean share of a core each vCPU thread ran (100% = one full core per vCPU).' },
		{ key: 'delay_pct', title: 'Run delay', unit: '%', axis: 'run delay per vCPU (%)',
		  note: 'Mean share of time each vCPU was runnable but waited for a CPU (host noise).' },
		{ key: 'exits_per_s', title: 'VM exits', unit: '/s', axis: 'exits per second' },
		{ key: 'ipc', title: 'IPC', unit: '', axis: 'instructions per cycle', why: 'hw_why',
		  whyDefault: 'no hardware counters in the samples' },
		{ key: 'power_w', title: 'Power', unit: 'W', axis: 'power (W)', why: 'energy_why',
		  whyDefault: 'no energy source in the samples', energy: true },
		{ key: 'energy_j', title: 'Energy since the start', unit: 'J', axis: 'energy (J)', why: 'energy_why',
		  whyDefault: 'no energy source in the samples', energy: true },
	];

	function finiteCount(a) {
		var n = 0;

		(a || []).forEach(function (v) { if (v !== null && isFinite(v)) n++; });
		return n;
	}

	/* Phases shaded (every other one darker), their names on top; the
	 * decisions as dashed lines in their run's colour, numbered. */
	function overlay(D, marks) {
		function x(u, v) { return Math.round(u.valToPos(v, 'x', true)); }

		return {
			hooks: {
				drawClear: function (u) {
					var c = u.ctx, b = u.bbox;

					c.save();
					D.phases.forEach(function (p, i) {
						var a = Math.max(x(u, p.from_s), b.left), z = Math.min(x(u, p.to_s), b.left + b.width);

						if (z <= a)
							return;
						c.fillStyle = i === 0 ? 'rgba(0,0,0,0)' : i % 2 ? 'rgba(40,90,200,0.08)' :
							'rgba(200,120,0,0.08)';
						c.fillRect(a, b.top, z - a, b.height);
						if (i) {
							c.fillStyle = 'rgba(60,60,60,0.8)';
							c.font = Math.round(11 * devicePixelRatio) + 'px sans-serif';
							c.fillText(p.name, a + 4, b.top + 12 * devicePixelRatio);
						}
					});
					c.restore();
				},
				draw: function (u) {
					var c = u.ctx, b = u.bbox, r = 5 * devicePixelRatio;

					c.save();
					marks.forEach(function (m) {
						var px = x(u, m.t_s);

						if (px < b.left || px > b.left + b.width)
							return;
						c.strokeStyle = m.colour;
						c.fillStyle = m.colour;
						c.setLineDash([4 * devicePixelRatio, 3 * devicePixelRatio]);
						c.beginPath();
						c.moveTo(px, b.top);
						c.lineTo(px, b.top + b.height);
						c.stroke();
						c.setLineDash([]);
						c.beginPath();
						c.moveTo(px - r, b.top);
						c.lineTo(px + r, b.top);
						c.lineTo(px, b.top + 1.6 * r);
						c.fill();
						c.font = Math.round(11 * devicePixelRatio) + 'px sans-serif';
						c.fillText('D' + m.n, px + r, b.top + 2.6 * r);
					});
					c.restore();
				},
			},
		};
	}

	function unit(v, u) { return u === '%' ? v + '%' : u ? v + ' ' + u : String(v); }

	function chart(D, spec, marks, root, width) {
		var runs = D.runs.filter(function (r) { return finiteCount(r[spec.key]) > 0; });
		var div = el('div', { class: 'chart', id: 'c-' + spec.key, 'data-metric': spec.key }), why, tables, opts;
		var points = 0, est = '';

		root.appendChild(el('h3', {}, [spec.title + (spec.unit ? ' (' + spec.unit + ')' : '')]));
		if (!runs.length) {
			why = spec.why && D.runs.map(function (r) { return r[spec.why]; }).filter(Boolean)[0];
			root.appendChild(el('div', { class: 'unavailable', id: 'c-' + spec.key, 'data-metric': spec.key,
				'data-points': '0' }, [spec.title + ': unavailable: ' + (why || spec.whyDefault ||
				'no samples')]));
			return 0;
		}
		if (spec.energy && runs.some(function (r) { return r.energy_estimated; }))
			est = ' Estimated from a model (no RAPL energy counters on this ' +
				(D.experiment.simulated ? 'machine model' : 'host') + '), not measured.';
		if (spec.note || est)
			root.appendChild(el('p', { class: 'note' }, [(spec.note || '') + est]));
		tables = runs.map(function (r) { points += finiteCount(r[spec.key]); return [r.t_s, r[spec.key]]; });
		opts = {
			width: width, height: 240,
			scales: { x: { time: false, range: function (u, lo, hi) {
				return [0, Math.max(hi, D.experiment.duration_s)];
			} } },
			legend: { live: false },
			series: [{ label: 'time', value: function (u, v) { return v === null ? '-' : fmt(v, 2) + ' s'; } }]
				.concat(runs.map(function (r) {
					return { label: runName(D, r), stroke: colour(r), width: 1.5, spanGaps: true,
						dash: r.rep > 1 ? [6, 3] : undefined,
						value: function (u, v) { return v === null ? '-' : unit(fmt(v), spec.unit); } };
				})),
			axes: [
				{ label: 'seconds from the guest\'s start',
				  values: function (u, vals) { return vals.map(function (v) { return v + ' s'; }); } },
				{ label: spec.axis, size: 70,
				  values: function (u, vals) { return vals.map(function (v) { return unit(v, spec.unit); }); } },
			],
			plugins: [overlay(D, marks)],
		};
		root.appendChild(div);
		new uPlot(opts, uPlot.join(tables), div);
		div.setAttribute('data-points', String(points));
		return 1;
	}

	function decisionMarks(D) {
		var marks = [], n = 0;

		D.runs.forEach(function (r) {
			r.decisions.forEach(function (d) {
				marks.push({ n: ++n, t_s: d.t_s, colour: colour(r), run: r, d: d });
			});
		});
		return marks;
	}

	function charts(D, root, marks) {
		var width = Math.max(480, Math.min(1200, (root.clientWidth || window.innerWidth) - 8)), drawn = 0;
		var na = 0;

		root.appendChild(el('h2', {}, ['Charts']));
		root.appendChild(el('p', { class: 'note' }, ['Every run overlaid (one colour per profile' +
			(D.experiment.repeat > 1 ? ', repeats dashed' : '') + '); phases shaded; the control ' +
			'loop\'s decisions as numbered dashed lines (listed below).']));
		CHARTS.forEach(function (spec) {
			if (chart(D, spec, marks, root, width))
				drawn++;
			else
				na++;
		});
		document.body.setAttribute('data-charts', String(drawn));
		document.body.setAttribute('data-unavailable', String(na));
	}

	/* ---- decisions and files ---------------------------------------------- */

	function decisions(D, root, marks) {
		var t = el('table', { id: 'decisions' }), shown = 0, total = 0;

		root.appendChild(el('h2', {}, ['Decisions']));
		D.runs.forEach(function (r) { shown += r.decisions.length; total += r.decisions_total; });
		document.body.setAttribute('data-decisions', String(shown));
		if (!marks.length) {
			root.appendChild(el('p', {}, ['The control loop took no decision in any run.']));
			return;
		}
		t.appendChild(el('tr', {}, ['#', 'run', 't', 'kind', 'what', 'why', 'effect'].map(function (h) {
			return el('th', { class: 'l' }, [h]);
		})));
		marks.forEach(function (m) {
			t.appendChild(el('tr', {}, [el('td', {}, ['D' + m.n]),
				el('td', { class: 'l' }, [el('span', { class: 'swatch', style: 'background:' + m.colour }),
					runName(D, m.run)]),
				el('td', {}, [fmt(m.d.t_s, 2) + ' s']), el('td', { class: 'l' }, [m.d.kind]),
				el('td', { class: 'l' }, [m.d.what + (m.d.dry_run ? ' [dry run]' : '')]),
				el('td', { class: 'l' }, [m.d.why]), el('td', { class: 'l' }, [m.d.effect || ''])]));
		});
		root.appendChild(t);
		if (total > shown)
			root.appendChild(el('p', { class: 'note' }, ['The first ' + shown + ' of ' + total +
				' decisions are shown; the traces hold them all.']));
	}

	function files(D, root) {
		var ul = el('ul', { id: 'files' });

		root.appendChild(el('h2', {}, ['Files written']));
		D.files.forEach(function (f) {
			ul.appendChild(el('li', {}, [f.kind + ': ', el('code', {}, [f.path]),
				f.profile ? ' (' + f.profile + ', run ' + f.rep + ')' : '']));
		});
		root.appendChild(ul);
		root.appendChild(el('footer', {}, ['Written by avmm ' + D.avmm_version + ' (avmm experiment). ' +
			'Charts: uPlot 1.6.32, MIT licence, (c) Leon Sorokin.']));
	}

	try {
		var D = JSON.parse(document.getElementById('avmm-report-data').textContent);
		var root = document.getElementById('report'), marks = decisionMarks(D);

		header(D, root);
		summary(D, root);
		charts(D, root, marks);
		decisions(D, root, marks);
		files(D, root);
	} catch (e) {
		fail(e && e.stack ? e.stack : e);
	}
})();
