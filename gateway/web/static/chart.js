// The price chart: the broker's candles (docs/broker-api.md, "Chart candles") drawn by
// lightweight-charts, a charting library made for finance (served at /vendor/lightweight-charts.js
// from its npm package). This file adapts the broker's candle messages to it: times arrive in
// milliseconds (the library wants seconds), prices in minor units (formatted by priceText), and
// it keeps data-count / data-last-close on the container so tests and people can read what is shown.
// The library batches its own drawing to animation frames: hundreds of updates per second are cheap.
'use strict';

class CandleChart {
  constructor(container, { maxBars = 500, priceText = (p) => String(p) } = {}) {
    const { createChart, CandlestickSeries, HistogramSeries } = window.LightweightCharts;
    this.container = container;
    this.maxBars = maxBars;
    this.candles = [];
    this.chart = createChart(container, {
      autoSize: true,
      layout: { background: { color: '#0f1419' }, textColor: '#9aa7b2', attributionLogo: false },
      grid: { vertLines: { color: '#1b232b' }, horzLines: { color: '#1b232b' } },
      timeScale: { timeVisible: true, secondsVisible: true, borderColor: '#222b33' },
      rightPriceScale: { borderColor: '#222b33' },
      localization: { priceFormatter: priceText },
    });
    this.prices = this.chart.addSeries(CandlestickSeries, {
      upColor: '#4ade80', downColor: '#f87171', borderVisible: false, wickUpColor: '#4ade80', wickDownColor: '#f87171',
    });
    this.volumes = this.chart.addSeries(HistogramSeries, { priceScaleId: 'volume', priceFormat: { type: 'volume' }, lastValueVisible: false, priceLineVisible: false });
    this.chart.priceScale('volume').applyOptions({ scaleMargins: { top: 0.8, bottom: 0 } });
    this.show();
  }

  /** Replaces everything (a subscription's history). */
  setData(candles) {
    this.candles = candles.slice(-this.maxBars);
    this.prices.setData(this.candles.map(toBar));
    this.volumes.setData(this.candles.map(toVolume));
    this.show();
  }

  /** The candle with the same time moved, or a newer one opened; an older one than we hold is ignored. */
  update(candle) {
    const last = this.candles[this.candles.length - 1];
    if (last !== undefined && candle.time < last.time) return;
    if (last !== undefined && candle.time === last.time) this.candles[this.candles.length - 1] = candle;
    else {
      this.candles.push(candle);
      if (this.candles.length > this.maxBars) this.candles.shift();
    }
    this.prices.update(toBar(candle));
    this.volumes.update(toVolume(candle));
    this.show();
  }

  clear() {
    this.setData([]);
  }

  show() {
    const last = this.candles[this.candles.length - 1];
    this.container.dataset.count = String(this.candles.length);
    this.container.dataset.lastClose = last === undefined ? '' : String(last.close);
    this.container.classList.toggle('empty', last === undefined);
  }
}

const toSeconds = (ms) => Math.floor(ms / 1000);
const toBar = (c) => ({ time: toSeconds(c.time), open: c.open, high: c.high, low: c.low, close: c.close });
const toVolume = (c) => ({ time: toSeconds(c.time), value: c.volume, color: c.close >= c.open ? 'rgba(74,222,128,.35)' : 'rgba(248,113,113,.35)' });

window.CandleChart = CandleChart;
