// The lab's chart widget for JupyterLab and Voilà.
//
// plotly.js is its "cartesian" bundle (scatter, bar, heatmap, box, histogram, ...: 1.4 MB instead of
// 4.6 MB for every trace type), enough for every chart of the lab.
//
// Why not plotly's FigureWidget: it ships plotly.js (~5 MB) inside every chart's widget state, and
// anywidget gives up on a model that takes over 2 s to set up, so pages with many charts go dead
// in Voilà. Here plotly.js is one lazily loaded chunk of this extension, fetched once per page from
// the local server; a chart's state is only its figure as JSON (data and layout apart, so a change
// of data alone sends no layout). Every change is drawn with Plotly.react, which updates the
// existing plot (zoom kept through layout.uirevision).
//
// After each successful draw the view adds one to the model's `rendered` counter, which syncs back to
// the kernel: Python can tell that a chart really drew in this browser (the ready-check notebook).
// Charts follow the page: on a dark JupyterLab/Voila theme they get a dark plot background and light
// text, and a page that sets the CSS variable --eda-chart-scale (presenter mode) gets larger text.

const { DOMWidgetModel, DOMWidgetView, IJupyterWidgetRegistry } = require('@jupyter-widgets/base');

const NAME = 'eda-lab-charts';
const VERSION = require('../package.json').version;

let plotlyPromise = null;

/** plotly.js, loaded once per page (a separate chunk of this extension, never a CDN). */
function loadPlotly() {
  if (plotlyPromise === null) {
    plotlyPromise = import(/* webpackChunkName: "plotly" */ 'plotly.js-cartesian-dist-min').then(
      (module) => module.default || module
    );
  }
  return plotlyPromise;
}

/** Every live chart view, redrawn when the page switches between a light and a dark theme. */
const views = new Set();
let themeObserver = null;

function watchTheme() {
  if (themeObserver !== null || typeof MutationObserver === 'undefined' || !document.body) {
    return;
  }
  themeObserver = new MutationObserver(() => views.forEach((view) => view.scheduleDraw()));
  themeObserver.observe(document.body, { attributes: true, attributeFilter: ['data-jp-theme-light'] });
}

function isDark() {
  return !!document.body && document.body.getAttribute('data-jp-theme-light') === 'false';
}

// Colours that are too dark on a dark page, and what they become there: the lab's neutral grey
// text and bars, and its Event-driven blue (Okabe-Ito blue becomes Okabe-Ito sky blue).
const DARK_COLORS = { '#444444': '#d0d0d0', '#0072b2': '#56b4e9', '#6b6b6b': '#b0b0b0' };
const DARK_LAYOUT = {
  paper_bgcolor: 'rgba(0,0,0,0)',
  plot_bgcolor: 'rgba(0,0,0,0)',
  font: { color: '#e6e6e6' },
  hoverlabel: { font: { color: '#111111' } },
  legend: { bgcolor: 'rgba(0,0,0,0)' },
};
const DARK_AXIS = { gridcolor: '#3c3c3c', linecolor: '#8a8a8a', zerolinecolor: '#5a5a5a', tickcolor: '#8a8a8a' };

/** Replace the colours of DARK_COLORS anywhere in a figure's JSON (in place). */
function recolor(value) {
  if (Array.isArray(value)) {
    value.forEach((item, i) => {
      if (typeof item === 'string') {
        value[i] = DARK_COLORS[item.toLowerCase()] || item;
      } else if (item && typeof item === 'object') {
        recolor(item);
      }
    });
  } else if (value && typeof value === 'object') {
    for (const key of Object.keys(value)) {
      const item = value[key];
      if (typeof item === 'string') {
        value[key] = DARK_COLORS[item.toLowerCase()] || item;
      } else if (item && typeof item === 'object' && key !== 'template') {
        recolor(item);
      }
    }
  }
}

function darken(data, layout) {
  recolor(data);
  recolor(layout);
  const template = layout.template || {};
  const base = template.layout || {};
  const tl = { ...base, ...DARK_LAYOUT, font: { ...(base.font || {}), ...DARK_LAYOUT.font } };
  tl.xaxis = { ...(base.xaxis || {}), ...DARK_AXIS };
  tl.yaxis = { ...(base.yaxis || {}), ...DARK_AXIS };
  layout.template = { ...template, layout: tl };
  for (const key of Object.keys(layout)) {
    if (/^[xy]axis\d*$/.test(key)) {
      layout[key] = { ...DARK_AXIS, ...layout[key] };
    }
  }
  if (layout.title && layout.title.font && !layout.title.font.color) {
    layout.title.font = { ...layout.title.font, color: '#f0f0f0' };
  }
}

/** Multiply every font size (and the margins and height that hold the text) by `scale`. */
function enlarge(data, layout, scale) {
  const grow = (value) => {
    if (Array.isArray(value)) {
      value.forEach(grow);
    } else if (value && typeof value === 'object') {
      for (const key of Object.keys(value)) {
        if (key === 'template') {
          continue;
        }
        const item = value[key];
        if ((key === 'font' || key === 'textfont' || key === 'tickfont') && item && typeof item.size === 'number') {
          value[key] = { ...item, size: item.size * scale };
        }
        grow(value[key]);
      }
    }
  };
  grow(data);
  grow(layout);
  layout.font = { ...(layout.font || {}), size: ((layout.font && layout.font.size) || 12 * scale) };
  if (layout.margin) {
    const m = { ...layout.margin };
    for (const side of ['l', 't', 'b']) {
      if (typeof m[side] === 'number') {
        m[side] = Math.round(m[side] * scale);
      }
    }
    layout.margin = m;
  }
  if (typeof layout.height === 'number') {
    layout.height = Math.round(layout.height * (1 + (scale - 1) / 2));
  }
}

const CONFIG = {
  displaylogo: false,
  responsive: false, // the view resizes the chart itself when its box changes (ResizeObserver)
  modeBarButtonsToRemove: ['select2d', 'lasso2d', 'toImage'],
};

class ChartModel extends DOMWidgetModel {
  defaults() {
    return {
      ...super.defaults(),
      _model_name: 'ChartModel',
      _model_module: NAME,
      _model_module_version: VERSION,
      _view_name: 'ChartView',
      _view_module: NAME,
      _view_module_version: VERSION,
      figure_data: '[]',
      figure_layout: '{}',
      rendered: 0,
    };
  }
}

class ChartView extends DOMWidgetView {
  render() {
    this.el.classList.add('eda-chart');
    this.el.style.width = '100%';
    this.el.style.minWidth = '0';
    this.plot = document.createElement('div');
    this.plot.className = 'eda-chart-plot';
    this.plot.style.width = '100%';
    this.el.appendChild(this.plot);
    // Draws and resizes run one after the other on this queue: a resize that arrived while plotly
    // was drawing is checked again once the draw is done (a box that shrank mid-draw otherwise
    // leaves the chart at its old, wider size).
    this.queue = Promise.resolve();
    this.drawQueued = false;
    this.resizeQueued = false;
    this.listenTo(this.model, 'change:figure_data change:figure_layout', this.scheduleDraw);
    this.observer = new ResizeObserver(() => this.scheduleResize());
    this.observer.observe(this.el);
    views.add(this);
    watchTheme();
    this.scheduleDraw();
  }

  enqueue(step) {
    this.queue = this.queue.then(step).catch((error) => console.error(`${NAME}: could not draw a chart`, error));
  }

  /** Draw the latest figure once the running step ends; changes arriving meanwhile coalesce. */
  scheduleDraw() {
    if (this.drawQueued) {
      return;
    }
    this.drawQueued = true;
    this.enqueue(async () => {
      this.drawQueued = false;
      const Plotly = await loadPlotly();
      const data = JSON.parse(this.model.get('figure_data') || '[]');
      const layout = { ...JSON.parse(this.model.get('figure_layout') || '{}'), autosize: true };
      delete layout.width; // always the width of the box the chart sits in
      const scale = parseFloat(getComputedStyle(this.el).getPropertyValue('--eda-chart-scale'));
      if (scale > 0 && scale !== 1) {
        enlarge(data, layout, scale);
      }
      if (isDark()) {
        darken(data, layout);
      }
      await Plotly.react(this.plot, data, layout, CONFIG);
      await this.fit(Plotly);
      this.reportDrawn();
    });
  }

  /** Tell the kernel that this chart drew (the `rendered` counter; see the ready-check notebook). */
  reportDrawn() {
    if (this.plot._fullLayout && this.plot.data) {
      this.model.set('rendered', (this.model.get('rendered') || 0) + 1);
      this.model.save_changes();
    }
  }

  scheduleResize() {
    if (this.resizeQueued) {
      return;
    }
    this.resizeQueued = true;
    this.enqueue(async () => {
      this.resizeQueued = false;
      await this.fit(await loadPlotly());
    });
  }

  /** Resize the plot when its drawn width differs from its box (and the box is visible). */
  async fit(Plotly) {
    const width = this.el.clientWidth;
    const drawn = this.plot._fullLayout && this.plot._fullLayout.width;
    if (width > 0 && drawn && Math.abs(drawn - width) > 1) {
      await Plotly.Plots.resize(this.plot);
    }
  }

  remove() {
    views.delete(this);
    if (this.observer) {
      this.observer.disconnect();
    }
    if (plotlyPromise !== null && this.plot) {
      this.enqueue(() => plotlyPromise.then((Plotly) => Plotly.purge(this.plot)));
    }
    return super.remove();
  }
}

module.exports = [
  {
    id: `${NAME}:plugin`,
    requires: [IJupyterWidgetRegistry],
    autoStart: true,
    activate(app, registry) {
      registry.registerWidget({ name: NAME, version: VERSION, exports: { ChartModel, ChartView } });
    },
  },
];
