"""Deployment: instance pools, Kubernetes tags/values, `make up`/`make down` scripts. Plain Python here
(no dagster-k8s import), so asset modules can import the tag constants anywhere."""
