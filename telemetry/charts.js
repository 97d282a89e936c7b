/* avmm's time charts on uPlot (vendor/uplot): wall-clock x axis with
 * several labels, a y axis with its unit on every label, and markers (a
 * dashed line with a tooltip) for the loop's decisions. Used by the live
 * dashboard (served at /charts.js) and meant for the experiment report.
 *
 *   var c = avmmCharts.create(hostElement, { unit: "%", axis: "% of one core",
 *                                            fmt: avmmCharts.pct, min0: true });
 *   c.update(xs, [ys0, ys1], ["vcpu0", "vcpu1"], [lo, hi], markers);
 *
 * xs: seconds since the epoch (wall clock), ascending; each ys: numbers or
 * null (a gap); markers: [{ x: seconds, kind: "coremap", text: "..." }].
 * The host element gets data-points (non-null points), data-xlabels and
 * data-ylabels (the tick labels drawn, "|"-separated) and data-markers (the
 * markers inside the window), so a test can check what is on screen. */
"use strict";
(function () {
  var COLORS = ["#58a6ff", "#f0883e", "#3fb950", "#d2a8ff", "#ff7b72", "#e3b341", "#39c5cf", "#bc8cff"];
  var KIND_COLORS = { coremap: "#e3b341", bankmap: "#39c5cf", "paging-mode": "#d2a8ff",
                      energy: "#3fb950", profile: "#ff7b72" };

  function pad(n) { return (n < 10 ? "0" : "") + n; }
  /* hh:mm:ss (or hh:mm on minute steps), local time */
  function clock(sec, withSec) {
    var d = new Date(sec * 1000);
    return pad(d.getHours()) + ":" + pad(d.getMinutes()) + (withSec ? ":" + pad(d.getSeconds()) : "");
  }
  /* 1234 -> "1.2k", with the unit after the number */
  function si(unit) {
    return function (v) {
      var a = Math.abs(v), s;
      if (a >= 1e9) s = (v / 1e9).toFixed(a >= 1e10 ? 0 : 1) + "G";
      else if (a >= 1e6) s = (v / 1e6).toFixed(a >= 1e7 ? 0 : 1) + "M";
      else if (a >= 1e3) s = (v / 1e3).toFixed(a >= 1e4 ? 0 : 1) + "k";
      else s = a >= 10 || v === 0 ? v.toFixed(0) : v.toFixed(a >= 1 ? 1 : 2);
      return s + (unit ? " " + unit : "");
    };
  }
  function pct(v) { return (Math.abs(v) >= 10 || v === 0 ? v.toFixed(0) : v.toFixed(1)) + "%"; }
  function fixed(digits, unit) {
    return function (v) { return v.toFixed(digits) + (unit ? " " + unit : ""); };
  }

  function axisStyle() {
    return { stroke: "#8a96a3", grid: { stroke: "#26313b", width: 1 },
             ticks: { stroke: "#33404c", width: 1 }, font: "11px system-ui, sans-serif",
             labelFont: "11px system-ui, sans-serif" };
  }

  function create(host, cfg) {
    var u = null, names = "", range = [0, 1], markers = [];
    var fmt = cfg.fmt || si(cfg.unit);

    function drawMarkers(p) {
      var over = p.over, n = 0;
      Array.prototype.slice.call(over.querySelectorAll(".marker")).forEach(function (m) { m.remove(); });
      markers.forEach(function (m) {
        if (m.x < range[0] || m.x > range[1]) return;
        var left = p.valToPos(m.x, "x"), el = document.createElement("div");
        el.className = "marker";
        el.dataset.kind = m.kind;
        el.title = m.text;
        el.style.cssText = "position:absolute;top:0;bottom:0;width:9px;margin-left:-4px;left:" +
          left + "px;pointer-events:auto;cursor:help;" +
          "background:linear-gradient(to right,transparent 4px," + (KIND_COLORS[m.kind] || "#e3b341") +
          " 4px,transparent 5px)";
        var tag = document.createElement("span");
        tag.textContent = (m.kind || "?").charAt(0).toUpperCase();
        tag.style.cssText = "position:absolute;top:-2px;left:7px;font-size:10px;color:" +
          (KIND_COLORS[m.kind] || "#e3b341");
        el.appendChild(tag);
        over.appendChild(el);
        n++;
      });
      host.dataset.markers = String(n);
    }

    function build(seriesNames, data) {
      var width = Math.max(280, (host.clientWidth || 400) - 4);
      if (u) u.destroy();
      var series = [{ label: "time", value: function (p, v) { return v == null ? "–" : clock(v, true); } }];
      seriesNames.forEach(function (nm, i) {
        series.push({ label: nm, stroke: COLORS[i % COLORS.length], width: 1.5, spanGaps: false,
                      value: function (p, v) { return v == null ? "–" : fmt(v); } });
      });
      var xa = axisStyle(), ya = axisStyle();
      xa.space = 50;
      xa.values = function (p, splits, ax, space, incr) {
        var withSec = incr < 60 || splits.some(function (s) { return s % 60; });
        var out = splits.map(function (s) { return clock(s, withSec); });
        host.dataset.xlabels = out.join("|");
        return out;
      };
      ya.label = cfg.axis || cfg.unit || "";
      ya.labelSize = 16;
      ya.size = cfg.axisSize || 62;
      ya.values = function (p, splits) {
        var out = splits.map(function (v) { return v == null ? "" : fmt(v); });
        host.dataset.ylabels = out.join("|");
        return out;
      };
      u = new uPlot({
        width: width, height: cfg.height || 170,
        scales: {
          x: { time: true, range: function () { return range; } },
          y: { range: function (p, lo, hi) {
            if (lo == null || hi == null || !isFinite(hi)) return [0, cfg.emptyMax || 1];
            var top = Math.max(hi * 1.1, cfg.minTop || 0) || 1;
            return [cfg.min0 === false ? lo : Math.min(0, lo), top];
          } }
        },
        series: series,
        axes: [xa, ya],
        legend: { show: true, live: true },
        cursor: { drag: { x: false, y: false } },
        hooks: { draw: [drawMarkers] }
      }, data, host.querySelector(".plot"));
    }

    return {
      update: function (xs, ys, seriesNames, win, marks) {
        var data = [xs].concat(ys), key = seriesNames.join("\u0001"), n = 0;
        range = win;
        markers = marks || [];
        ys.forEach(function (y) { y.forEach(function (v) { if (v != null) n++; }); });
        host.dataset.points = String(n);
        if (!u || key !== names) {
          names = key;
          build(seriesNames, data);
        } else {
          u.setData(data, true);
        }
      },
      resize: function () {
        if (u) u.setSize({ width: Math.max(280, (host.clientWidth || 400) - 4), height: cfg.height || 170 });
      }
    };
  }

  window.avmmCharts = { create: create, si: si, pct: pct, fixed: fixed, clock: clock,
                        KIND_COLORS: KIND_COLORS };
})();
