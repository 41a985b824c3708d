# Doorman's image: the bot published self-contained for linux-x64, in its shipped form (the publish settings are in
# src/Doorman/Doorman.csproj), on a runtime-deps base: OS libraries only, no SDK, non-root, state in the /data volume.
#
#   docker build -t doorman .        (or podman build --format docker: HEALTHCHECK is a Docker-format instruction)
#
# The two bases are build arguments, so this file builds unchanged from the usual registry images and from local
# ones on a machine without a registry: tests/image/image.sh builds it from a debootstrapped Debian with the host's
# SDK and NuGet cache mounted into the build (`podman build -v …`), which leaves nothing of the build machine in
# the image.
ARG SDK=mcr.microsoft.com/dotnet/sdk:10.0
ARG BASE=mcr.microsoft.com/dotnet/runtime-deps:10.0

FROM ${SDK} AS build
# /usr/share/dotnet is where the sdk image keeps the SDK, and where tests/image/image.sh mounts the host's.
# The bot is built for invariant globalization (Directory.Build.props), and so is the build: a base without ICU will do.
ENV PATH="/usr/share/dotnet:${PATH}" DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1 \
    DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1
WORKDIR /src
COPY global.json Directory.Build.props Directory.Packages.props BannedSymbols.txt .editorconfig ./
COPY protos/ protos/
COPY src/Doorman.Matrix/Doorman.Matrix.csproj src/Doorman.Matrix/
COPY src/Doorman/Doorman.csproj src/Doorman/
RUN dotnet restore src/Doorman/Doorman.csproj -r linux-x64
COPY src/Doorman.Matrix/ src/Doorman.Matrix/
COPY src/Doorman/ src/Doorman/
# `doorman version` prints it (the build context has no .git).
ARG COMMIT=
RUN dotnet publish src/Doorman/Doorman.csproj -c Release -r linux-x64 --self-contained --no-restore -o /app \
        -p:SourceRevisionId=${COMMIT} \
    && mkdir /data

FROM ${BASE}
# The runtime-deps images' non-root `app` user; numeric, so a base without that user name works as well.
ARG APP_UID=1654
WORKDIR /app
COPY --from=build /app ./
# No RUN in this stage: the base needs no shell, and build-time mounts leave nothing behind.
COPY --from=build --chown=${APP_UID}:${APP_UID} /data /data
USER ${APP_UID}
VOLUME /data
# The database and the end-to-end encryption key file (doorman.crypto-key) live in /data: back up both.
ENV Storage__Path=/data/doorman.db \
    Http__Urls=http://0.0.0.0:8080
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s CMD ["/app/Doorman", "health"]
ENTRYPOINT ["/app/Doorman"]
