// Draws every lab chart of a lesson-site page from the figure JSON the build wrote beside it, with the
// site's own copy of plotly.js (assets/plotly.min.js): hover and zoom work, nothing is fetched.
(function () {
  const CONFIG = {
    displaylogo: false,
    responsive: true,
    modeBarButtonsToRemove: ['select2d', 'lasso2d', 'toImage'],
  };

  function draw(chart) {
    if (chart.dataset.drawn) return;
    const source = chart.querySelector('script.eda-figure');
    if (!source || !window.Plotly) return;
    const figure = JSON.parse(source.textContent);
    const layout = Object.assign({}, figure.layout, { autosize: true });
    delete layout.width; // always the width of the chart's box
    const plot = document.createElement('div');
    plot.className = 'eda-chart-plot';
    chart.appendChild(plot);
    chart.dataset.drawn = '1';
    window.Plotly.newPlot(plot, figure.data, layout, CONFIG);
  }

  function drawAll() {
    document.querySelectorAll('.eda-chart').forEach(draw);
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', drawAll);
  } else {
    drawAll();
  }
})();
