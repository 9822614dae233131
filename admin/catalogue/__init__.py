"""The published catalogue's web side: CKAN's Action API and the DCAT feed (ckan.py), the CKAN layer's own OpenAPI
document (ckan_contract.py), every IRI the catalogue mints answered as a page and as RDF (pages.py), and the standard
kinds' Table Schemas (standards.py). The register itself is the domain package catalogue/."""
