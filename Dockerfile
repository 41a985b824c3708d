# Doorman: multi-stage build, non-root runtime, state in the /data volume.
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
COPY global.json Directory.Build.props Directory.Packages.props BannedSymbols.txt .editorconfig ./
COPY protos/ protos/
COPY src/Doorman.Matrix/Doorman.Matrix.csproj src/Doorman.Matrix/
COPY src/Doorman/Doorman.csproj src/Doorman/
RUN dotnet restore src/Doorman/Doorman.csproj
COPY src/Doorman.Matrix/ src/Doorman.Matrix/
COPY src/Doorman/ src/Doorman/
RUN dotnet publish src/Doorman/Doorman.csproj -c Release --no-restore -o /app

FROM mcr.microsoft.com/dotnet/aspnet:10.0
WORKDIR /app
COPY --from=build /app ./
RUN mkdir -p /data && chown app:app /data
USER app
VOLUME /data
ENV Storage__Path=/data/doorman.db \
    Http__Urls=http://0.0.0.0:8080 \
    DOTNET_gcServer=0
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s CMD ["dotnet", "Doorman.dll", "--healthcheck"]
ENTRYPOINT ["dotnet", "Doorman.dll"]
