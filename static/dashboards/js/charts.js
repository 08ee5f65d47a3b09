/* KAM dashboards: render the charts whose ECharts options the server put in json_script
   tags, keep them sized, export them as PNG, and format numbers and dates in the page's
   language. Every text comes from the server; this file holds none.

   <div data-chart="ID-of-the-json-script"> gets a chart. In the options, a "formatter" or
   "valueFormatter" written as "@name" becomes the formatter of that name below; "@tip"
   shows the server-made text of the hovered item (its "tip"). A data item with a "url"
   opens that page when clicked (the heatmap's cells). Charts inside content that htmx
   swaps are disposed before and drawn after the swap. */
(function () {
  "use strict";

  var charts = [];

  function language() {
    return (document.documentElement.lang || "zh-hans").toLowerCase();
  }

  function isChinese() {
    return language().indexOf("zh") === 0;
  }

  function locale() {
    return isChinese() ? "zh-CN" : "en-US";
  }

  function number(value, digits) {
    return new Intl.NumberFormat(locale(), { maximumFractionDigits: digits || 0 }).format(value);
  }

  // Amounts in the workspace's currency (its symbol on <body>): 万 and 亿 in Chinese, K and M in English.
  function money(value) {
    var amount = Math.abs(Number(value) || 0);
    var prefix = (value < 0 ? "-" : "") + (document.body.getAttribute("data-currency-symbol") || "¥");
    if (isChinese()) {
      if (amount >= 1e8) return prefix + number(amount / 1e8, 2) + "亿";
      if (amount >= 1e4) return prefix + number(amount / 1e4, 1) + "万";
      return prefix + number(amount, 0);
    }
    if (amount >= 1e9) return prefix + number(amount / 1e9, 2) + "B";
    if (amount >= 1e6) return prefix + number(amount / 1e6, 1) + "M";
    if (amount >= 1e3) return prefix + number(amount / 1e3, 1) + "K";
    return prefix + number(amount, 0);
  }

  function dateOf(value) {
    if (value instanceof Date) return value;
    if (typeof value === "string" && /^\d{4}-\d{2}-\d{2}$/.test(value)) {
      var parts = value.split("-");
      return new Date(Number(parts[0]), Number(parts[1]) - 1, Number(parts[2]));
    }
    return new Date(value);
  }

  function valueOf(input) {
    // Axis formatters get the value; label formatters get params with .value ([x, y, v] for a heatmap).
    if (input && typeof input === "object" && "value" in input) {
      var value = input.value;
      return Array.isArray(value) ? value[value.length - 1] : value;
    }
    return input;
  }

  var FORMATTERS = {
    count: function (input) {
      return number(valueOf(input), 0);
    },
    money: function (input) {
      return money(valueOf(input));
    },
    percent: function (input) {
      return number(valueOf(input) * 100, 1) + "%";
    },
    percent0: function (input) {
      return number(valueOf(input) * 100, 0) + "%";
    },
    date: function (input) {
      return new Intl.DateTimeFormat(locale(), { year: "numeric", month: "short", day: "numeric" }).format(
        dateOf(valueOf(input))
      );
    },
    "date-short": function (input) {
      return new Intl.DateTimeFormat(locale(), { month: "short", day: "numeric" }).format(dateOf(valueOf(input)));
    },
    "pie-percent": function (params) {
      return number(params.percent, params.percent < 10 ? 1 : 0) + "%";
    },
    "cell-count": function (params) {
      return number(valueOf(params), 0);
    },
    tip: function (params) {
      var data = params && params.data;
      var text = data && data.tip ? String(data.tip) : "";
      // ECharts writes a formatter's string as HTML: escape the server's text.
      return text.replace(/[&<>"']/g, function (c) {
        return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
      });
    },
  };

  function resolveFormatters(node) {
    if (Array.isArray(node)) {
      node.forEach(resolveFormatters);
      return node;
    }
    if (node && typeof node === "object") {
      Object.keys(node).forEach(function (key) {
        var value = node[key];
        if ((key === "formatter" || key === "valueFormatter") && typeof value === "string" && value.charAt(0) === "@") {
          node[key] = FORMATTERS[value.slice(1)] || undefined;
        } else {
          resolveFormatters(value);
        }
      });
    }
    return node;
  }

  function baseOption() {
    var reduceMotion = window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;
    return {
      animation: !reduceMotion,
      animationDuration: 400,
      textStyle: { fontFamily: getComputedStyle(document.body).fontFamily },
    };
  }

  function render(element) {
    if (typeof echarts === "undefined" || element.getAttribute("data-chart-ready")) return;
    var source = document.getElementById(element.getAttribute("data-chart"));
    if (!source) return;
    var option;
    try {
      option = resolveFormatters(JSON.parse(source.textContent));
    } catch (error) {
      return;
    }
    var chart = echarts.init(element, null, { renderer: "canvas", locale: isChinese() ? "ZH" : "EN" });
    chart.setOption(Object.assign(baseOption(), option));
    chart.on("click", function (params) {
      var url = params && params.data && params.data.url;
      if (typeof url === "string" && url.charAt(0) === "/" && url.charAt(1) !== "/") {
        window.location.assign(url);
      }
    });
    element.setAttribute("data-chart-ready", "true");
    var entry = { element: element, chart: chart, observer: null };
    if (window.ResizeObserver) {
      entry.observer = new ResizeObserver(function () {
        chart.resize();
      });
      entry.observer.observe(element);
    }
    charts.push(entry);
  }

  function renderIn(root) {
    if (!root || !root.querySelectorAll) return;
    if (root.matches && root.matches("[data-chart]")) render(root);
    root.querySelectorAll("[data-chart]").forEach(render);
  }

  function disposeIn(root) {
    charts = charts.filter(function (entry) {
      if (root === entry.element || (root.contains && root.contains(entry.element))) {
        if (entry.observer) entry.observer.disconnect();
        entry.chart.dispose();
        return false;
      }
      return true;
    });
  }

  function exportPng(button) {
    var element = document.getElementById(button.getAttribute("data-chart-png"));
    var entry = charts.filter(function (item) {
      return item.element === element;
    })[0];
    if (!entry) return;
    var link = document.createElement("a");
    link.href = entry.chart.getDataURL({ type: "png", pixelRatio: 2, backgroundColor: "#ffffff" });
    link.download = button.getAttribute("data-filename") || "chart.png";
    document.body.appendChild(link);
    link.click();
    link.remove();
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-chart-png]");
    if (button) {
      event.preventDefault();
      exportPng(button);
    }
  });

  // htmx: the old charts of swapped content go, the new ones are drawn.
  document.addEventListener("htmx:beforeSwap", function (event) {
    if (event.detail && event.detail.target) disposeIn(event.detail.target);
  });
  document.addEventListener("htmx:load", function (event) {
    renderIn(event.detail && event.detail.elt);
  });
  window.addEventListener("resize", function () {
    if (window.ResizeObserver) return;
    charts.forEach(function (entry) {
      entry.chart.resize();
    });
  });

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () {
      renderIn(document);
    });
  } else {
    renderIn(document);
  }

  window.kamCharts = { formatters: FORMATTERS, render: renderIn };
})();
