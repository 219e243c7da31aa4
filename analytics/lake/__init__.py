"""The lake: Parquet facts many collector nodes seal into, and the Dask engine that reads them."""
