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
      await Plotly.react(this.plot, data, layout, CONFIG);
      await this.fit(Plotly);
    });
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
