-- Run once by the postgres image on an empty data folder (docker-compose.yml mounts it into
-- /docker-entrypoint-initdb.d/). One database per service: no service reads another's tables.
CREATE DATABASE intake;
CREATE DATABASE goals;
CREATE DATABASE progress;
